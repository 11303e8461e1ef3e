// Receiving an object or part body: decode aws-chunked framing, hash, verify, and either stream it to a
// file (ingestBody) or, for a body whose declared length is at most SMALL_BODY_BYTES, collect it in
// memory (ingestBodyToMemory). Both run the same digests and checks, and raise verification failures
// after the last byte; nothing is visible until the store commits it.
import { createHash, type Hash } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import { Transform, Writable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { SigV4Context } from '../sigv4.js'
import { AwsChunkedDecoder } from './aws-chunked.js'
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  isWellFormedChecksum,
  createChecksum,
  parseChecksumAlgorithm,
  type Checksum,
  type ChecksumAlgorithm,
} from './checksums.js'
import { badDigest, incompleteBody, invalidArgument, invalidRequest, S3Error } from './errors.js'

// S3 limits: a single PUT or a part is at most 5 GiB.
export const MAX_UPLOAD_BYTES = 5 * 1024 ** 3
const FILE_HIGH_WATER_MARK = 1 << 20
/**
 * Bodies declared at most this long are received into memory and written with synchronous fs calls at
 * commit; reads of at most this many bytes are synchronous too (object-handlers.ts). Streaming through a
 * file can already hold up to FILE_HIGH_WATER_MARK (1 MiB) per request, so this never holds more memory.
 * Up to this size the synchronous calls cost less CPU than the libuv threadpool round trips of
 * fs/promises or streams, while blocking the event loop for at most a few hundred microseconds per call.
 */
export const SMALL_BODY_BYTES = 256 * 1024

export interface IngestSpec {
  /** Exact number of (decoded) body bytes. */
  lengthBytes: number
  chunked?: { signing?: SigV4Context; signedTrailer: boolean; trailer?: string }
  sha256Hex?: string
  md5?: Buffer
  checksum?: { algorithm: ChecksumAlgorithm; expectedBase64?: string; fromTrailer: boolean }
}

export interface IngestResult {
  sizeBytes: number
  md5Hex: string
  checksum?: { algorithm: ChecksumAlgorithm; value: string }
}

const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'

/**
 * Reads the body-related headers and checks them before any byte is read (so a bad request is answered
 * before `100 Continue`). `defaultAlgorithm` is the multipart upload's checksum algorithm, computed for
 * each part even when the client sends no checksum for it.
 */
export function parseIngestSpec(req: IncomingMessage, auth: SigV4Context, defaultAlgorithm?: ChecksumAlgorithm): IngestSpec {
  const h = req.headers
  const payload = auth.payloadHash
  const streaming = payload.startsWith('STREAMING-')
  let spec: IngestSpec
  if (streaming) {
    if (payload !== STREAMING_UNSIGNED_TRAILER && payload !== STREAMING_SIGNED && payload !== STREAMING_SIGNED_TRAILER) {
      throw invalidArgument(`Unsupported x-amz-content-sha256 value '${payload}'`, 'x-amz-content-sha256', payload)
    }
    const decoded = h['x-amz-decoded-content-length']
    if (decoded === undefined) {
      throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.')
    }
    const signed = payload !== STREAMING_UNSIGNED_TRAILER
    spec = {
      lengthBytes: parseLength(decoded, 'x-amz-decoded-content-length'),
      chunked: {
        ...(signed && !auth.presigned ? { signing: auth } : {}),
        signedTrailer: payload === STREAMING_SIGNED_TRAILER,
      },
    }
  } else {
    if (h['content-length'] === undefined) {
      // S3 does not take plain HTTP chunked bodies for PUT.
      throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.')
    }
    spec = { lengthBytes: parseLength(h['content-length'], 'Content-Length') }
    if (/^[0-9a-f]{64}$/i.test(payload)) spec.sha256Hex = payload.toLowerCase()
    else if (payload !== 'UNSIGNED-PAYLOAD') {
      throw invalidArgument('x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], or a valid sha256 value.', 'x-amz-content-sha256', payload)
    }
  }
  if (spec.lengthBytes > MAX_UPLOAD_BYTES) {
    throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
      ProposedSize: String(spec.lengthBytes),
      MaxSizeAllowed: String(MAX_UPLOAD_BYTES),
    })
  }

  const md5Header = h['content-md5']
  const md5 = Array.isArray(md5Header) ? md5Header.join(',') : md5Header
  if (md5 !== undefined) {
    const buf = Buffer.from(md5, 'base64')
    if (buf.length !== 16 || buf.toString('base64') !== md5.trim()) {
      throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified was not valid.')
    }
    spec.md5 = buf
  }

  const headerAlgs = CHECKSUM_ALGORITHMS.filter((a) => h[checksumHeaderName(a)] !== undefined)
  const trailer = typeof h['x-amz-trailer'] === 'string' ? h['x-amz-trailer'].trim().toLowerCase() : undefined
  if (headerAlgs.length > 1 || (headerAlgs.length === 1 && trailer !== undefined)) {
    throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.')
  }
  let algorithm: ChecksumAlgorithm | undefined
  let fromTrailer = false
  if (trailer !== undefined) {
    if (!spec.chunked) throw invalidRequest('x-amz-trailer requires an aws-chunked body with a STREAMING-*-TRAILER payload.')
    algorithm = CHECKSUM_ALGORITHMS.find((a) => checksumHeaderName(a) === trailer)
    if (algorithm === undefined) throw invalidRequest(`The value specified in the x-amz-trailer header is not supported: ${trailer}`)
    spec.chunked.trailer = trailer
    fromTrailer = true
  } else if (headerAlgs[0] !== undefined) {
    algorithm = headerAlgs[0]
  } else {
    const sdkAlg = h['x-amz-sdk-checksum-algorithm']
    algorithm = typeof sdkAlg === 'string' ? parseChecksumAlgorithm(sdkAlg) : undefined
  }
  if (defaultAlgorithm !== undefined && algorithm !== undefined && algorithm !== defaultAlgorithm && (fromTrailer || headerAlgs.length > 0)) {
    throw invalidRequest(`Checksum Type mismatch occurred, expected checksum Type: ${defaultAlgorithm.toLowerCase()}, actual checksum Type: ${algorithm.toLowerCase()}`)
  }
  algorithm = defaultAlgorithm ?? algorithm
  if (algorithm !== undefined) {
    const headerValue = h[checksumHeaderName(algorithm)]
    // A value that is not a digest at all is InvalidRequest, not BadDigest (which clients retry).
    if (typeof headerValue === 'string' && !isWellFormedChecksum(algorithm, headerValue.trim())) {
      throw invalidRequest(`Value for ${checksumHeaderName(algorithm)} header is invalid.`)
    }
    spec.checksum = {
      algorithm,
      fromTrailer,
      ...(typeof headerValue === 'string' ? { expectedBase64: headerValue.trim() } : {}),
    }
  }
  return spec
}

function parseLength(value: string | string[], name: string): number {
  const s = Array.isArray(value) ? value[0] ?? '' : value
  if (!/^\d{1,16}$/.test(s)) throw invalidArgument(`Invalid ${name}`, name, s)
  return Number(s)
}

/**
 * Streams the request body into `filePath`, verifying everything `spec` asks for. On any failure
 * (client gone, bad framing, digest mismatch) the file is removed before the error is rethrown.
 */
export async function ingestBody(req: IncomingMessage, filePath: string, spec: IngestSpec): Promise<IngestResult> {
  const out = createWriteStream(filePath, { highWaterMark: FILE_HIGH_WATER_MARK })
  try {
    return await receive(req, out, spec)
  } catch (err) {
    // Wait for the descriptor to be closed: unlinking before an in-flight open() would leave a file.
    if (!out.closed) {
      out.destroy()
      await once(out, 'close').catch(() => undefined)
    }
    await unlink(filePath).catch(() => undefined)
    throw err
  }
}

/**
 * Collects the request body in memory, verifying everything `spec` asks for, with the same checks and
 * errors as ingestBody. The memory held is at most `spec.lengthBytes` (a byte beyond it is refused), so
 * callers use it only for a declared length of at most SMALL_BODY_BYTES.
 */
export async function ingestBodyToMemory(req: IncomingMessage, spec: IngestSpec): Promise<{ body: Buffer; received: IngestResult }> {
  const digests = new BodyDigests(spec)
  const chunks: Buffer[] = []
  let decoder: AwsChunkedDecoder | undefined
  if (spec.chunked) {
    decoder = new AwsChunkedDecoder({
      ...(spec.chunked.signing ? { signing: spec.chunked.signing } : {}),
      signedTrailer: spec.chunked.signedTrailer,
    })
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        try {
          digests.update(chunk)
        } catch (err) {
          cb(err as Error)
          return
        }
        chunks.push(chunk)
        cb()
      },
    })
    await pipeline(bodyOf(req), decoder, sink)
  } else {
    for await (const chunk of bodyOf(req)) {
      digests.update(chunk)
      chunks.push(chunk)
    }
  }
  const received = verify(digests, decoder, spec)
  return { body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, digests.bytes), received }
}

async function receive(req: IncomingMessage, out: WriteStream, spec: IngestSpec): Promise<IngestResult> {
  const hasher = new HashingCounter(spec)
  let decoder: AwsChunkedDecoder | undefined
  if (spec.chunked) {
    decoder = new AwsChunkedDecoder({
      ...(spec.chunked.signing ? { signing: spec.chunked.signing } : {}),
      signedTrailer: spec.chunked.signedTrailer,
    })
    await pipeline(bodyOf(req), decoder, hasher, out)
  } else {
    await pipeline(bodyOf(req), hasher, out)
  }
  return verify(hasher.digests, decoder, spec)
}

/** The checks made once the whole body was received, in this order (the first failure is the error). */
function verify(digests: BodyDigests, decoder: AwsChunkedDecoder | undefined, spec: IngestSpec): IngestResult {
  if (digests.bytes !== spec.lengthBytes) throw incompleteBody()
  const md5 = digests.md5.digest()
  if (spec.md5 && !md5.equals(spec.md5)) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.')
  }
  if (spec.sha256Hex !== undefined && digests.sha256?.digest('hex') !== spec.sha256Hex) {
    throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.")
  }
  const result: IngestResult = { sizeBytes: digests.bytes, md5Hex: md5.toString('hex') }
  if (spec.checksum && digests.checksum) {
    const value = digests.checksum.digest().toString('base64')
    const expected = spec.checksum.fromTrailer ? decoder?.trailers.get(spec.chunked?.trailer ?? '') : spec.checksum.expectedBase64
    if (spec.checksum.fromTrailer && expected === undefined) {
      throw invalidRequest(`The ${spec.checksum.algorithm} trailer declared in x-amz-trailer was not sent.`)
    }
    // Same rule for a trailer: "Value for x-amz-checksum-<alg> trailing header is invalid." (InvalidRequest).
    if (spec.checksum.fromTrailer && expected !== undefined && !isWellFormedChecksum(spec.checksum.algorithm, expected)) {
      throw invalidRequest(`Value for ${checksumHeaderName(spec.checksum.algorithm)} trailing header is invalid.`)
    }
    if (expected !== undefined && expected !== value) throw badDigest(spec.checksum.algorithm)
    result.checksum = { algorithm: spec.checksum.algorithm, value }
  }
  return result
}

/**
 * The request body as a pipeline source that is not destroyed when a later stage fails: destroying an
 * incomplete IncomingMessage resets the socket, and the client would never see the S3 error document.
 */
export function bodyOf(req: IncomingMessage): AsyncIterable<Buffer> {
  return req.iterator({ destroyOnReturn: false })
}

/** One pass over the data for every digest S3 needs; also refuses bytes beyond the declared length. */
class BodyDigests {
  bytes = 0
  readonly md5: Hash = createHash('md5')
  readonly sha256: Hash | undefined
  readonly checksum: Checksum | undefined
  private readonly limit: number

  constructor(spec: IngestSpec) {
    this.limit = spec.lengthBytes
    this.sha256 = spec.sha256Hex !== undefined ? createHash('sha256') : undefined
    this.checksum = spec.checksum ? createChecksum(spec.checksum.algorithm) : undefined
  }

  /** Throws (before hashing the chunk) when the body grows beyond the declared length. */
  update(chunk: Buffer): void {
    this.bytes += chunk.length
    if (this.bytes > this.limit) throw invalidRequest('The body is longer than the declared x-amz-decoded-content-length.')
    this.md5.update(chunk)
    this.sha256?.update(chunk)
    this.checksum?.update(chunk)
  }
}

/** BodyDigests as a pass-through stage of a pipeline. */
class HashingCounter extends Transform {
  readonly digests: BodyDigests

  constructor(spec: IngestSpec) {
    super({ readableHighWaterMark: FILE_HIGH_WATER_MARK, writableHighWaterMark: FILE_HIGH_WATER_MARK })
    this.digests = new BodyDigests(spec)
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.digests.update(chunk)
    } catch (err) {
      cb(err as Error)
      return
    }
    cb(null, chunk)
  }
}
