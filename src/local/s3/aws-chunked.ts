// Streaming decoder for `Content-Encoding: aws-chunked` bodies:
//   <hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n[<trailer>:<value>\r\n]*\r\n
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
// Data is passed on as slices of the incoming buffers: nothing is copied or held beyond a header line.
import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { safeEqualHex, signChunk, signTrailer, type SigV4Context } from '../sigv4.js'
import { S3Error } from './errors.js'

export interface AwsChunkedOptions {
  /** Verify `chunk-signature`s (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) from this seed. */
  signing?: Pick<SigV4Context, 'signingKey' | 'amzDate' | 'scope' | 'signature'>
  /** The trailer carries `x-amz-trailer-signature` (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER). */
  signedTrailer?: boolean
}

const MAX_LINE_BYTES = 8192
const CR = 13
const LF = 10

const enum State {
  ChunkHeader,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  Done,
}

const malformed = (why: string): S3Error =>
  new S3Error(400, 'IncompleteBody', `The request body is not a valid aws-chunked stream: ${why}`)

export class AwsChunkedDecoder extends Transform {
  /** Trailing headers (lower-case names), available once the stream has ended. */
  readonly trailers = new Map<string, string>()
  decodedBytes = 0
  private state = State.ChunkHeader
  private line: Buffer[] = []
  private lineBytes = 0
  private remaining = 0
  private crlfSeen = 0
  private chunkSignature: string | undefined
  private chunkHash: Hash | undefined
  private previousSignature: string | undefined
  private readonly opts: AwsChunkedOptions

  constructor(opts: AwsChunkedOptions = {}) {
    super({ readableHighWaterMark: 1 << 20, writableHighWaterMark: 1 << 20 })
    this.opts = opts
    this.previousSignature = opts.signing?.signature
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk)
      cb()
    } catch (err) {
      cb(err as Error)
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state === State.Trailer && this.lineBytes > 0) {
      // Tolerate a body that ends right after its last trailer line without the closing blank line.
      try {
        this.trailerLine(this.takeLine())
      } catch (err) {
        cb(err as Error)
        return
      }
      this.state = State.Done
    }
    if (this.state !== State.Done && this.state !== State.Trailer) {
      cb(malformed('the body ended before the final 0-size chunk'))
      return
    }
    if (this.opts.signedTrailer && this.opts.signing && !this.trailers.has('x-amz-trailer-signature')) {
      cb(malformed('missing x-amz-trailer-signature'))
      return
    }
    cb()
  }

  private consume(chunk: Buffer): void {
    let off = 0
    const n = chunk.length
    while (off < n) {
      switch (this.state) {
        case State.ChunkHeader:
        case State.Trailer: {
          const lf = chunk.indexOf(LF, off)
          const end = lf < 0 ? n : lf
          this.appendLine(chunk.subarray(off, end))
          off = end
          if (lf < 0) break
          off++
          const line = this.takeLine()
          if (this.state === State.ChunkHeader) this.chunkHeader(line)
          else if (line === '') this.state = State.Done
          else this.trailerLine(line)
          break
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, n - off)
          const slice = chunk.subarray(off, off + take)
          this.chunkHash?.update(slice)
          this.push(slice)
          this.decodedBytes += take
          this.remaining -= take
          off += take
          if (this.remaining === 0) {
            this.state = State.ChunkDataEnd
            this.crlfSeen = 0
          }
          break
        }
        case State.ChunkDataEnd: {
          const expected = this.crlfSeen === 0 ? CR : LF
          if (chunk[off] !== expected) throw malformed('chunk data is not followed by CRLF')
          off++
          if (++this.crlfSeen === 2) {
            this.verifyChunkSignature()
            this.state = State.ChunkHeader
          }
          break
        }
        case State.Done: {
          // Only stray whitespace may follow the final blank line.
          for (; off < n; off++) {
            const c = chunk[off]
            if (c !== CR && c !== LF && c !== 32 && c !== 9) throw malformed('data after the final chunk')
          }
          break
        }
      }
    }
  }

  private appendLine(part: Buffer): void {
    if (part.length === 0) return
    this.lineBytes += part.length
    if (this.lineBytes > MAX_LINE_BYTES) throw malformed('chunk header line too long')
    this.line.push(part)
  }

  private takeLine(): string {
    let s = Buffer.concat(this.line, this.lineBytes).toString('latin1')
    this.line = []
    this.lineBytes = 0
    if (s.endsWith('\r')) s = s.slice(0, -1)
    return s
  }

  private chunkHeader(line: string): void {
    const semi = line.indexOf(';')
    const hex = (semi < 0 ? line : line.slice(0, semi)).trim()
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw malformed(`bad chunk size '${hex.slice(0, 20)}'`)
    const size = parseInt(hex, 16)
    this.chunkSignature = undefined
    if (semi >= 0) {
      const m = /(?:^|;)\s*chunk-signature=([0-9a-f]{64})\s*$/.exec(line.slice(semi))
      if (m) this.chunkSignature = m[1]
    }
    if (this.opts.signing) {
      if (this.chunkSignature === undefined) throw malformed('missing chunk-signature')
      this.chunkHash = createHash('sha256')
    }
    if (size === 0) {
      this.verifyChunkSignature()
      this.state = State.Trailer
      return
    }
    this.remaining = size
    this.state = State.ChunkData
  }

  private verifyChunkSignature(): void {
    const signing = this.opts.signing
    if (!signing || this.chunkHash === undefined || this.chunkSignature === undefined || this.previousSignature === undefined) return
    const expected = signChunk(signing, this.previousSignature, this.chunkHash.digest('hex'))
    if (!safeEqualHex(expected, this.chunkSignature)) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.')
    }
    this.previousSignature = this.chunkSignature
    this.chunkHash = undefined
  }

  private trailerLine(line: string): void {
    const colon = line.indexOf(':')
    if (colon <= 0) throw malformed('bad trailer line')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'x-amz-trailer-signature' && this.opts.signing && this.previousSignature !== undefined) {
      // The trailer signature covers every trailer before it, each as "name:value\n".
      const canonical = [...this.trailers].map(([k, v]) => `${k}:${v}\n`).join('')
      const expected = signTrailer(this.opts.signing, this.previousSignature, canonical)
      if (!safeEqualHex(expected, value)) {
        throw new S3Error(403, 'SignatureDoesNotMatch', 'The trailer signature we calculated does not match the signature you provided.')
      }
    }
    this.trailers.set(name, value)
  }
}
