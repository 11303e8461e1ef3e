import { PutObjectCommand } from '@aws-sdk/client-s3'
import { createHmac } from 'node:crypto'
import t from 'tap'
import { verifySigV2Presigned } from '../../../src/local/s3/sigv2-presign.js'
import { BUCKET, CREDENTIALS, startS3 } from './helpers.js'

t.test('SigV2 query auth: the worked example of the S3 documentation', async (t) => {
  const req = {
    method: 'GET',
    path: '/johnsmith/photos/puppy.jpg',
    query: [['AWSAccessKeyId', 'AKIAIOSFODNN7EXAMPLE'], ['Signature', 'NpgCjnDzrM+WFzoENXmpNDUsSn8='], ['Expires', '1175139620']] as [string, string][],
    headers: {},
  }
  const lookupSecret = (): string => 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
  t.equal(verifySigV2Presigned(req, { lookupSecret, nowMs: 1175139000_000 }).ok, true)
  const late = verifySigV2Presigned(req, { lookupSecret, nowMs: 1175139621_000 })
  t.equal(late.ok ? 'ok' : late.code, 'RequestExpired')
  const other = verifySigV2Presigned({ ...req, path: '/johnsmith/photos/kitten.jpg' }, { lookupSecret, nowMs: 1175139000_000 })
  t.equal(other.ok ? 'ok' : other.code, 'SignatureDoesNotMatch')
})

t.test('a SigV2 presigned URL (as boto3 and `aws s3 presign` make them) downloads the object', async (t) => {
  const { server, client } = await startS3(t)
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v2/a b.txt', Body: 'v2 body' }))
  const path = `/${BUCKET}/v2/a%20b.txt`
  const expires = Math.floor(Date.now() / 1000) + 60
  // Sub-resources such as response-* overrides are signed with their decoded values.
  const stringToSign = `GET\n\n\n${expires}\n${path}?response-content-type=text/x-v2`
  const signature = createHmac('sha1', CREDENTIALS.secretAccessKey).update(stringToSign).digest('base64')
  const url = `${server.url}${path}?AWSAccessKeyId=${CREDENTIALS.accessKeyId}&Expires=${expires}&Signature=${encodeURIComponent(signature)}&response-content-type=${encodeURIComponent('text/x-v2')}`
  const res = await fetch(url)
  t.equal(res.status, 200)
  t.equal(await res.text(), 'v2 body')
  t.equal(res.headers.get('content-type'), 'text/x-v2')
  const forged = await fetch(url.replace('text%2Fx-v2', 'text%2Fhtml'))
  t.equal(forged.status, 403)
})
