// Hand-built uploads (node:http) for the body encodings and digests the SDK does not get wrong by itself.
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import t from 'tap'
import { signChunk, verifySigV4Detailed } from '../../../src/local/sigv4.js'
import { BUCKET, CREDENTIALS, dataFiles, errorOf, startS3 } from './helpers.js'
import { sendRaw, sha256Hex, signRaw } from './raw-http.js'

const crc32b64 = (b: Buffer): string => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc32(b) >>> 0)
  return out.toString('base64')
}

function unsignedChunked(chunks: Buffer[], trailer: string): Buffer {
  const parts: Buffer[] = []
  for (const c of chunks) parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'))
  parts.push(Buffer.from(`0\r\n${trailer}\r\n\r\n`))
  return Buffer.concat(parts)
}

function chunkedHeaders(decodedLength: number, payload: string, trailer?: string): Record<string, string> {
  return {
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(decodedLength),
    'x-amz-content-sha256': payload,
    ...(trailer ? { 'x-amz-trailer': trailer } : {}),
  }
}

t.test('aws-chunked with a valid CRC32 trailer is stored decoded', async (t) => {
  const { server, client } = await startS3(t)
  const chunks = [Buffer.alloc(65_536, 'x'), Buffer.from('tail')]
  const data = Buffer.concat(chunks)
  const res = await sendRaw(
    server.url,
    { method: 'PUT', path: `/${BUCKET}/chunked`, headers: chunkedHeaders(data.length, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-checksum-crc32') },
    unsignedChunked(chunks, `x-amz-checksum-crc32:${crc32b64(data)}`),
  )
  t.equal(res.status, 200, res.body)
  t.equal(res.headers['x-amz-checksum-crc32'], crc32b64(data))
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'chunked' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data))
})

t.test('aws-chunked with a corrupted trailing checksum is BadDigest and stores nothing', async (t) => {
  const { server, client, dataDir } = await startS3(t)
  const data = Buffer.alloc(100_000, 'y')
  const res = await sendRaw(
    server.url,
    { method: 'PUT', path: `/${BUCKET}/bad-crc`, headers: chunkedHeaders(data.length, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-checksum-crc32') },
    unsignedChunked([data], `x-amz-checksum-crc32:${crc32b64(Buffer.from('something else'))}`),
  )
  t.equal(res.status, 400)
  t.match(res.body, /<Code>BadDigest<\/Code>/)
  const head = await errorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'bad-crc' })))
  t.equal(head.name, 'NotFound')
  t.same(await dataFiles(dataDir), [])
})

t.test('aws-chunked whose decoded length differs from x-amz-decoded-content-length is refused', async (t) => {
  const { server, dataDir } = await startS3(t)
  const data = Buffer.from('short body')
  const res = await sendRaw(
    server.url,
    { method: 'PUT', path: `/${BUCKET}/len`, headers: chunkedHeaders(data.length + 5, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-checksum-crc32') },
    unsignedChunked([data], `x-amz-checksum-crc32:${crc32b64(data)}`),
  )
  t.equal(res.status, 400)
  t.match(res.body, /<Code>IncompleteBody<\/Code>/)
  t.same(await dataFiles(dataDir), [])
})

t.test('a framing error early in a large body is still answered with an S3 error', async (t) => {
  const { server, dataDir } = await startS3(t)
  const data = Buffer.alloc(4 * 1024 * 1024, 'z')
  const res = await sendRaw(
    server.url,
    { method: 'PUT', path: `/${BUCKET}/overlong`, headers: chunkedHeaders(10, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'x-amz-checksum-crc32') },
    unsignedChunked([data], `x-amz-checksum-crc32:${crc32b64(data)}`),
  )
  t.equal(res.status, 400)
  t.match(res.body, /<Code>InvalidRequest<\/Code>/)
  t.same(await dataFiles(dataDir), [])
})

t.test('signed aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): chunk signatures verified', async (t) => {
  const { server, client, dataDir } = await startS3(t)
  const chunks = [Buffer.alloc(8192, 'a'), Buffer.alloc(100, 'b')]
  const data = Buffer.concat(chunks)
  const headers = chunkedHeaders(data.length, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD')
  const build = async (tamper: boolean) => {
    const signed = await signRaw(server.url, { method: 'PUT', path: `/${BUCKET}/signed`, headers })
    // Recover the seed signature and signing key the way the server does, then chain the chunks.
    const ctx = verifySigV4Detailed(
      { method: 'PUT', path: `/${BUCKET}/signed`, query: '', headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])) },
      { service: 's3', region: 'us-east-1', lookupSecret: () => CREDENTIALS.secretAccessKey },
    )
    if (!ctx.ok) throw new Error(ctx.message)
    let prev = ctx.context.signature
    const parts: Buffer[] = []
    for (const c of [...chunks, Buffer.alloc(0)]) {
      prev = signChunk(ctx.context, prev, sha256Hex(c))
      const payload = tamper && c.length === 100 ? Buffer.alloc(100, 'c') : c
      parts.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${prev}\r\n`), payload, Buffer.from('\r\n'))
    }
    // The final 0-size chunk's CRLF doubles as the blank line that ends the (empty) trailer.
    return Buffer.concat(parts)
  }
  const res = await sendRaw(server.url, { method: 'PUT', path: `/${BUCKET}/signed`, headers }, await build(false))
  t.equal(res.status, 200, res.body)
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'signed' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data))

  const bad = await sendRaw(server.url, { method: 'PUT', path: `/${BUCKET}/signed-bad`, headers }, await build(true))
  t.equal(bad.status, 403)
  t.match(bad.body, /<Code>SignatureDoesNotMatch<\/Code>/)
  await t.resolveMatch(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'signed-bad' })).catch((e: Error) => e.name), 'NotFound')
  t.same((await dataFiles(dataDir)).filter((f) => f.startsWith('tmp/')), [])
})

t.test('a body that does not match x-amz-content-sha256 is XAmzContentSHA256Mismatch', async (t) => {
  const { server, dataDir } = await startS3(t)
  const res = await sendRaw(
    server.url,
    { method: 'PUT', path: `/${BUCKET}/sha`, headers: { 'x-amz-content-sha256': sha256Hex('the signed body'), 'content-length': '15' } },
    'another body!!!',
  )
  t.equal(res.status, 400)
  t.match(res.body, /<Code>XAmzContentSHA256Mismatch<\/Code>/)
  t.same(await dataFiles(dataDir), [])
})

t.test('Content-MD5 and x-amz-checksum-* headers are verified on plain bodies', async (t) => {
  const { server } = await startS3(t)
  const body = 'checked body'
  const md5 = createHash('md5').update(body).digest('base64')
  const put = (key: string, headers: Record<string, string>) =>
    sendRaw(server.url, { method: 'PUT', path: `/${BUCKET}/${key}`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(body.length), ...headers } }, body)
  t.equal((await put('md5-ok', { 'content-md5': md5 })).status, 200)
  const badMd5 = await put('md5-bad', { 'content-md5': createHash('md5').update('x').digest('base64') })
  t.equal(badMd5.status, 400)
  t.match(badMd5.body, /<Code>BadDigest<\/Code>/)
  t.equal((await put('crc-ok', { 'x-amz-checksum-crc32': crc32b64(Buffer.from(body)) })).status, 200)
  const sha1 = createHash('sha1').update(body).digest('base64')
  t.equal((await put('sha1-ok', { 'x-amz-checksum-sha1': sha1 })).status, 200)
  const badCrc = await put('crc-bad', { 'x-amz-checksum-crc32c': 'AAAAAA==' })
  t.equal(badCrc.status, 400)
  t.match(badCrc.body, /<Code>BadDigest<\/Code>/)
})
