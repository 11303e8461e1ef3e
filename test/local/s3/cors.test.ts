// Bucket CORS on the local S3, as AWS does it: the configuration through the SDK, the unsigned
// OPTIONS preflight, and the headers on answers to a browser's presigned part upload.
import {
  CreateMultipartUploadCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import t from 'tap'
import { BUCKET, startS3 } from './helpers.js'

const PAGE = 'http://127.0.0.1:3000'

t.test('PutBucketCors / GetBucketCors / DeleteBucketCors round-trip through the SDK', async (t) => {
  const { client } = await startS3(t)
  await t.rejects(client.send(new GetBucketCorsCommand({ Bucket: BUCKET })), { name: 'NoSuchCORSConfiguration' })
  const rules = [
    { ID: 'page', AllowedOrigins: [PAGE, 'https://*.example.com'], AllowedMethods: ['PUT', 'GET'], AllowedHeaders: ['content-type', 'x-amz-*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 },
  ]
  await client.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: rules } }))
  const got = await client.send(new GetBucketCorsCommand({ Bucket: BUCKET }))
  t.same(got.CORSRules, rules)
  await t.rejects(
    client.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['PATCH'] }] } })),
    { name: 'InvalidRequest', message: /Unsupported method is PATCH/ },
  )
  await client.send(new DeleteBucketCorsCommand({ Bucket: BUCKET }))
  await t.rejects(client.send(new GetBucketCorsCommand({ Bucket: BUCKET })), { name: 'NoSuchCORSConfiguration' })
})

t.test("the preflight is answered from the bucket's rules without a signature; a presigned PUT from the page carries the CORS headers", async (t) => {
  const { client, server } = await startS3(t)
  const url = server.url
  const preflight = (origin: string | undefined, method: string, headers = 'content-type') =>
    fetch(`${url}/${BUCKET}/some/key`, {
      method: 'OPTIONS',
      headers: { ...(origin !== undefined ? { origin } : {}), 'access-control-request-method': method, 'access-control-request-headers': headers },
    })
  const noConfig = await preflight(PAGE, 'PUT')
  t.equal(noConfig.status, 403)
  t.match(await noConfig.text(), /<Code>AccessForbidden<\/Code>.*CORS is not enabled for this bucket/s)

  await client.send(
    new PutBucketCorsCommand({
      Bucket: BUCKET,
      CORSConfiguration: { CORSRules: [{ AllowedOrigins: [PAGE, 'https://*.example.com'], AllowedMethods: ['PUT'], AllowedHeaders: ['content-type'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 }] },
    }),
  )
  const ok = await preflight(PAGE, 'PUT')
  t.equal(ok.status, 200)
  t.equal(ok.headers.get('access-control-allow-origin'), PAGE)
  t.equal(ok.headers.get('access-control-allow-methods'), 'PUT')
  t.equal(ok.headers.get('access-control-allow-headers'), 'content-type')
  t.equal(ok.headers.get('access-control-expose-headers'), 'ETag')
  t.equal(ok.headers.get('access-control-max-age'), '600')
  t.equal((await preflight('https://app.example.com', 'PUT')).status, 200, 'a wildcard origin')
  t.equal((await preflight('https://evil.test', 'PUT')).status, 403, 'an origin no rule allows')
  t.equal((await preflight(PAGE, 'DELETE')).status, 403, 'a method no rule allows')
  t.equal((await preflight(PAGE, 'PUT', 'x-secret')).status, 403, 'a header no rule allows')
  t.equal((await preflight(undefined, 'PUT')).status, 400, 'no Origin')

  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'big/input' }))
  const signed = await getSignedUrl(client, new UploadPartCommand({ Bucket: BUCKET, Key: 'big/input', UploadId, PartNumber: 1 }), { expiresIn: 600 })
  const put = await fetch(signed, { method: 'PUT', headers: { origin: PAGE }, body: Buffer.alloc(1024, 1) })
  t.equal(put.status, 200)
  t.ok(put.headers.get('etag'))
  t.equal(put.headers.get('access-control-allow-origin'), PAGE, 'the page may read the answer')
  t.equal(put.headers.get('access-control-expose-headers'), 'ETag', 'and its ETag')
  const other = await fetch(signed, { method: 'PUT', headers: { origin: 'https://evil.test' }, body: Buffer.alloc(1024, 1) })
  t.equal(other.headers.get('access-control-allow-origin'), null, 'another origin gets no grant')
})
