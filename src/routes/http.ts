import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import { errors } from '../errors.js'

/** Clients pass SageMaker custom attributes in this header (or, for uploads, a form field of the same role). */
export const CUSTOM_ATTRIBUTES_HEADER = 'x-custom-attributes'

/**
 * An AbortSignal that fires when the client goes away before the response is complete; its reason
 * is the 499 `client_closed_request` error, which is logged, never sent.
 */
export function clientGone(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(errors.clientClosed())
  }
  reply.raw.once('close', onClose)
  request.raw.once('aborted', onClose)
  return controller.signal
}

/** `promise`, or the signal's reason if it fires first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (err: unknown) => (signal.removeEventListener('abort', onAbort), reject(err as Error)),
    )
  })
}

/**
 * Reads a small body (≤ `maxBytes`) into memory. The signal (the body going idle) stops the read
 * with its reason without destroying the request, so the gateway can still answer on it.
 */
export function readSmallBody(stream: Readable, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const finish = (err: Error | undefined) => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', finish)
      stream.off('aborted', onAborted)
      signal?.removeEventListener('abort', onAbort)
      // A body that came in one chunk is used as it is, not copied.
      if (err === undefined) return resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length))
      stream.pause()
      reject(err)
    }
    const onData = (chunk: Buffer) => {
      length += chunk.length
      if (length > maxBytes) finish(errors.payloadTooLarge(maxBytes))
      else chunks.push(chunk)
    }
    const onEnd = () => finish(undefined)
    const onAborted = () => finish(errors.clientClosed(length))
    const onAbort = () => finish(signal!.reason as Error)
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', finish)
    stream.once('aborted', onAborted)
    if (signal?.aborted === true) onAbort()
    else signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): the gateway takes over Node's automatic 100 Continue
 * (see buildApp) and sends it only once a route has accepted the request's headers, so a client
 * about to send a gigabyte learns of a 404, 413, 415 or 503 before sending any of it.
 */
export function continueIfExpected(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers.expect?.toLowerCase() !== '100-continue' || reply.raw.headersSent || continued.has(reply.raw)) return
  continued.add(reply.raw)
  reply.raw.writeContinue()
}
const continued = new WeakSet<object>()
