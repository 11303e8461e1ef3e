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
