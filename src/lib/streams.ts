import { finished, Readable, Transform, type TransformCallback, type TransformOptions } from 'node:stream'

/** Counts the bytes passing through (a stall watch's progress, an upload's size). */
export class ByteCounter extends Transform {
  bytes = 0
  constructor(options?: TransformOptions) {
    super(options)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    callback(null, chunk)
  }
}

/**
 * Counts bytes as they pass and fails the stream as soon as the count crosses `maxBytes`, so an
 * oversize upload is stopped at the first byte too many instead of after it has been stored.
 */
export class ByteLimiter extends ByteCounter {
  constructor(
    private readonly maxBytes: number,
    private readonly onLimit: () => Error,
  ) {
    // One socket read or so: an upload waiting for room in the upload budget holds no more than this here.
    super({ highWaterMark: 64 * 1024 })
  }

  override _transform(chunk: Buffer, enc: BufferEncoding, callback: TransformCallback): void {
    if (this.bytes + chunk.length > this.maxBytes) {
      this.bytes += chunk.length
      callback(this.onLimit())
    } else super._transform(chunk, enc, callback)
  }
}

/**
 * Reads at least `n` bytes (fewer if the stream ends first) from a paused stream and puts them back,
 * so the caller can inspect the head of a body and still hand on the whole of it as `body`: the
 * same stream, or, when it ended while peeking (a body shorter than `n`), a stream of the head.
 * When `signal` fires first, rejects with its reason and leaves the stream as it is (a request the
 * gateway still answers on must not be destroyed).
 */
export async function peek(stream: Readable, n: number, signal?: AbortSignal): Promise<{ head: Buffer; body: Readable }> {
  const chunks: Buffer[] = []
  let length = 0
  while (length < n) {
    if (signal?.aborted === true) throw signal.reason
    const chunk = stream.read() as Buffer | null
    if (chunk !== null) {
      chunks.push(chunk)
      length += chunk.length
      continue
    }
    if (stream.readableEnded) break
    if (stream.destroyed) throw stream.errored ?? prematureClose()
    const ended = await new Promise<boolean>((resolve, reject) => {
      const cleanup = () => {
        stream.off('readable', onReadable)
        stream.off('end', onEnd)
        stream.off('error', onError)
        stream.off('close', onClose)
        signal?.removeEventListener('abort', onAbort)
      }
      const onReadable = () => (cleanup(), resolve(false))
      const onEnd = () => (cleanup(), resolve(true))
      const onError = (err: Error) => (cleanup(), reject(err))
      // Closed before its end (a producer gave up, e.g. a truncated multipart body): not a body.
      const onClose = () => (cleanup(), reject(stream.errored ?? prematureClose()))
      const onAbort = () => (cleanup(), reject(signal!.reason))
      stream.on('readable', onReadable)
      stream.on('end', onEnd)
      stream.on('error', onError)
      stream.on('close', onClose)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    if (ended) {
      // 'end' is only emitted after a read() that returns null at the end: drain what is left.
      const rest = stream.read() as Buffer | null
      if (rest !== null) chunks.push(rest)
      break
    }
  }
  const head = Buffer.concat(chunks)
  // A stream cannot take data back after its end: hand on the bytes read instead.
  if (stream.readableEnded) return { head, body: Readable.from(head.length > 0 ? [head] : []) }
  if (head.length > 0) stream.unshift(head)
  return { head, body: stream }
}

/**
 * Pipes `source` through a ByteLimiter without tying their lifetimes together: when the limit is
 * crossed the limiter fails but the source (an HTTP request) is only unpiped, not destroyed, so the
 * gateway can still answer 413 on the same connection. Errors of the source fail the limiter.
 */
export function limitBody(source: Readable, maxBytes: number, onLimit: () => Error): ByteLimiter {
  const limiter = new ByteLimiter(maxBytes, onLimit)
  // finished() also reports a source closed before its end, which 'error' alone would miss.
  const stop = finished(source, { writable: false }, (err) => {
    if (err) limiter.destroy(err)
  })
  limiter.on('error', () => {
    source.unpipe(limiter)
    source.pause()
  })
  limiter.on('close', stop)
  source.pipe(limiter)
  return limiter
}

function prematureClose(): Error {
  return Object.assign(new Error('The body ended before it was complete.'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}
