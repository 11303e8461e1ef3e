import type { FastifyReply, FastifyRequest } from 'fastify'

/** Clients pass SageMaker custom attributes in this header (or, for uploads, a form field of the same role). */
export const CUSTOM_ATTRIBUTES_HEADER = 'x-custom-attributes'

/** An AbortSignal that fires when the client goes away before the response is complete. */
export function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort()
  }
  reply.raw.once('close', onClose)
  request.raw.once('aborted', onClose)
  return controller.signal
}

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): the gateway takes over Node's automatic 100 Continue
 * (see buildApp) and sends it only once a route has accepted the request's headers, so a client
 * about to send a gigabyte learns of a 404, 413 or 415 before sending any of it.
 */
export function continueIfExpected(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers.expect?.toLowerCase() !== '100-continue' || reply.raw.headersSent || continued.has(reply.raw)) return
  continued.add(reply.raw)
  reply.raw.writeContinue()
}
const continued = new WeakSet<object>()
