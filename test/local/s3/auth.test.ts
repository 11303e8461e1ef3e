import { ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { BUCKET, CREDENTIALS, errorOf, makeClient, REGION, startS3 } from './helpers.js'
import { signer } from './raw-http.js'

t.test('a wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId', async (t) => {
  const { server } = await startS3(t)
  const wrongSecret = makeClient(server.url, { ...CREDENTIALS, secretAccessKey: 'not-the-secret' })
  t.teardown(() => wrongSecret.destroy())
  const e1 = await errorOf(wrongSecret.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' })))
  t.equal(e1.name, 'SignatureDoesNotMatch')
  t.equal(e1.$metadata?.httpStatusCode, 403)
  const unknown = makeClient(server.url, { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'whatever' })
  t.teardown(() => unknown.destroy())
  const e2 = await errorOf(unknown.send(new ListBucketsCommand({})))
  t.equal(e2.name, 'InvalidAccessKeyId')
  t.equal(e2.$metadata?.httpStatusCode, 403)
})

t.test('an unsigned request is AccessDenied', async (t) => {
  const { server } = await startS3(t)
  const res = await fetch(`${server.url}/${BUCKET}/k`)
  t.equal(res.status, 403)
  const body = await res.text()
  t.match(body, /<Code>AccessDenied<\/Code>/)
  t.match(body, /<RequestId>[0-9A-F]+<\/RequestId>/)
  t.ok(res.headers.get('x-amz-request-id'))
})

async function presignedUrl(base: string, key: string, expiresIn: number, query: Record<string, string> = {}, region = REGION): Promise<string> {
  const u = new URL(base)
  const path = `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`
  const req = await signer('s3', CREDENTIALS, region).presign(
    {
      method: 'GET', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, query,
      headers: { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { expiresIn },
  )
  const qs = Object.entries(req.query ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')
  return `${base}${path}?${qs}`
}

t.test('a presigned GET URL works without credentials, and expires', async (t) => {
  const { server, client } = await startS3(t)
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'shared/a b.txt', Body: 'presigned body', ContentType: 'text/plain' }))
  const url = await presignedUrl(server.url, 'shared/a b.txt', 60, { 'response-content-disposition': 'attachment; filename="x.txt"' })
  const res = await fetch(url)
  t.equal(res.status, 200)
  t.equal(await res.text(), 'presigned body')
  t.equal(res.headers.get('content-disposition'), 'attachment; filename="x.txt"')
  const ranged = await fetch(url, { headers: { range: 'bytes=0-8' } })
  t.equal(ranged.status, 206)
  t.equal(await ranged.text(), 'presigned')

  const expired = await presignedUrl(server.url, 'shared/a b.txt', 0)
  await new Promise((r) => setTimeout(r, 1100))
  const late = await fetch(expired)
  t.equal(late.status, 403)
  t.match(await late.text(), /<Code>AccessDenied<\/Code><Message>Request has expired/)
  const tampered = await fetch(url.replace('shared/', 'other/'))
  t.equal(tampered.status, 403)
  t.match(await tampered.text(), /SignatureDoesNotMatch/)
})

t.test('non-ASCII metadata: signed right as latin-1 bytes, wrong as UTF-8 bytes, as on AWS (aws/aws-sdk-js#1297)', async (t) => {
  const { client } = await startS3(t)
  const put = (Key: string, Body: string | Buffer) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, Metadata: { note: 'café' } }))
  // A Buffer body: Node writes the headers as latin-1, which is what S3 reads.
  t.equal((await put('latin1', Buffer.from('x'))).$metadata.httpStatusCode, 200)
  // A string body: the headers go out as UTF-8 and S3 reads 'cafÃ©'.
  const err = await errorOf(put('utf8', 'x'))
  t.equal(err.name, 'SignatureDoesNotMatch')
  t.equal(err.$metadata?.httpStatusCode, 403)
})

t.test('a client configured for another region gets AuthorizationHeaderMalformed, as S3 words it', async (t) => {
  const { server } = await startS3(t)
  const other = new S3Client({ endpoint: server.url, region: 'eu-west-1', forcePathStyle: true, credentials: CREDENTIALS })
  t.teardown(() => other.destroy())
  const err = await errorOf(other.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' })))
  t.equal(err.name, 'AuthorizationHeaderMalformed')
  t.equal(err.$metadata?.httpStatusCode, 400)
  t.equal(err.message, "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'")
  t.equal((err as { Region?: string }).Region, 'us-east-1')
})

t.test('a URL presigned for another region gets AuthorizationQueryParametersError', async (t) => {
  const { server } = await startS3(t)
  const url = await presignedUrl(server.url, 'k', 60, {}, 'eu-west-1')
  const res = await fetch(url)
  t.equal(res.status, 400)
  const body = (await res.text()).replaceAll('&apos;', "'")
  t.match(body, "<Code>AuthorizationQueryParametersError</Code><Message>Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; expecting 'us-east-1'</Message>")
  t.match(body, '<Region>us-east-1</Region>')
})
