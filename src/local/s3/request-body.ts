// Small XML request bodies (CompleteMultipartUpload, DeleteObjects, CreateBucket), with the same
// integrity checks as object bodies.
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AwsChunkedDecoder } from './aws-chunked.js'
import { CHECKSUM_ALGORITHMS, checksumHeaderName, createChecksum } from './checksums.js'
import { badDigest, incompleteBody, malformedXml, S3Error } from './errors.js'
import { bodyOf } from './ingest.js'
import { continueBody, header, type S3Context } from './http-util.js'
import { parseXml, XmlParseError, type XmlElement } from './xml.js'

export async function readSmallBody(ctx: S3Context, maxBytes: number): Promise<Buffer> {
  const declared = header(ctx.req.headers, 'content-length')
  if (declared !== undefined && Number(declared) > maxBytes) {
    throw new S3Error(400, 'MaxMessageLengthExceeded', 'Your request was too big.')
  }
  continueBody(ctx)
  const chunks: Buffer[] = []
  let total = 0
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      total += chunk.length
      if (total > maxBytes) cb(new S3Error(400, 'MaxMessageLengthExceeded', 'Your request was too big.'))
      else {
        chunks.push(chunk)
        cb()
      }
    },
  })
  const chunked = ctx.auth.payloadHash.startsWith('STREAMING-')
  const decoder = chunked ? new AwsChunkedDecoder() : undefined
  if (decoder) await pipeline(bodyOf(ctx.req), decoder, sink)
  else await pipeline(bodyOf(ctx.req), sink)
  const body = Buffer.concat(chunks, total)

  const h = ctx.req.headers
  if (decoder && Number(header(h, 'x-amz-decoded-content-length')) !== body.length) throw incompleteBody()
  if (/^[0-9a-f]{64}$/i.test(ctx.auth.payloadHash) && createHash('sha256').update(body).digest('hex') !== ctx.auth.payloadHash.toLowerCase()) {
    throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.")
  }
  const md5 = header(h, 'content-md5')
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5.trim()) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.')
  }
  for (const alg of CHECKSUM_ALGORITHMS) {
    const expected = header(h, checksumHeaderName(alg)) ?? decoder?.trailers.get(checksumHeaderName(alg))
    if (expected === undefined) continue
    const c = createChecksum(alg)
    c.update(body)
    if (c.digest().toString('base64') !== expected.trim()) throw badDigest(alg)
  }
  return body
}

export async function readXmlBody(ctx: S3Context, maxBytes: number, rootName: string): Promise<XmlElement> {
  const body = await readSmallBody(ctx, maxBytes)
  try {
    const root = parseXml(body.toString('utf8'))
    if (root.name !== rootName) throw malformedXml()
    return root
  } catch (err) {
    if (err instanceof XmlParseError) throw malformedXml()
    throw err
  }
}

/** True when the request carries an integrity header (S3 requires one for DeleteObjects). */
export function hasIntegrityHeader(ctx: S3Context): boolean {
  const h = ctx.req.headers
  return (
    h['content-md5'] !== undefined ||
    h['x-amz-trailer'] !== undefined ||
    CHECKSUM_ALGORITHMS.some((a) => h[checksumHeaderName(a)] !== undefined)
  )
}
