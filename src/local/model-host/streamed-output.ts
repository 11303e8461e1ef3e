// Writes a handler's StreamedHandlerOutput as a chunked HTTP/1.1 answer (RFC 9112 §7.1), one chunk
// per value the iterator yields, so the runtime can forward each piece as a PayloadPart event of
// InvokeEndpointWithResponseStream as soon as the model produces it.
import type { ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { StreamedHandlerOutput } from '../../../handlers/handler.js'
import { drained, untilAborted } from './signals.js'

function toBytes(value: unknown): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (value instanceof Uint8Array) return value
  throw new TypeError(`a streamed answer must yield Buffers or strings, not ${value === null ? 'null' : typeof value}`)
}

/**
 * Pulls the iterator one value at a time: the next value is only asked for once the previous one is
 * handed to the socket and the socket has drained (backpressure), so a slow client never makes the
 * model run ahead into memory. The status line is sent with the first non-empty chunk: until then a
 * failure (thrown here) is still answered as an ordinary error response. After it, a failure is
 * thrown with the headers already sent: the caller must cut the connection (no terminating chunk).
 * If the iterator did not run to its end (error, client gone, timeout), it is closed with return()
 * without waiting on it: a generator stuck in an await would otherwise hold the invocation open.
 */
export async function sendStreamedOutput(
  response: ServerResponse,
  output: StreamedHandlerOutput,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const iterator = output.stream[Symbol.asyncIterator]()
  let completed = false
  let chunks = 0
  try {
    for (;;) {
      const next = await untilAborted(iterator.next(), signal)
      if (next.done) break
      const bytes = toBytes(next.value)
      // A zero-length chunk would read as the end of a chunked body; there is nothing to send anyway.
      if (bytes.length === 0) continue
      if (!response.headersSent) {
        // No Content-Length, so Node sends Transfer-Encoding: chunked. Nagle's algorithm would hold
        // small chunks back while an earlier one is unacknowledged: each piece must leave at once.
        response.writeHead(200, { 'Content-Type': output.contentType })
        response.socket?.setNoDelay(true)
      }
      chunks++
      if (!response.write(bytes)) await drained(response, signal)
      signal.throwIfAborted()
    }
    completed = true
    if (!response.headersSent) response.writeHead(200, { 'Content-Type': output.contentType, 'Content-Length': 0 })
    response.end()
    logger.debug({ chunks }, 'streamed answer sent')
  } finally {
    if (!completed) {
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch((err: unknown) => logger.debug({ err }, 'closing the streamed answer failed'))
    }
  }
}
