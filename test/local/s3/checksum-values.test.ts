import { HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3'
import t from 'tap'
import { BUCKET, dataFiles, errorOf, startS3 } from './helpers.js'
import { sendRaw } from './raw-http.js'

// A checksum value that is not a digest of the algorithm's size is InvalidRequest (not retried), as S3
// answers it; a well-formed value that does not match the body stays BadDigest.
const { server, client, dataDir } = await startS3(t)
const put = (key: string, extra: Partial<PutObjectCommandInput>) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'checked body', ...extra }))

t.test('a malformed x-amz-checksum-* header is InvalidRequest', async (t) => {
  const cases: Array<[Partial<PutObjectCommandInput>, string]> = [
    [{ ChecksumCRC32: 'not-a-checksum' }, 'x-amz-checksum-crc32'],
    [{ ChecksumSHA256: 'AAAAAA==' }, 'x-amz-checksum-sha256'],
    [{ ChecksumCRC32C: 'AAAAAAAA' }, 'x-amz-checksum-crc32c'],
  ]
  for (const [extra, header] of cases) {
    const err = await errorOf(put('malformed', extra))
    t.equal(err.name, 'InvalidRequest', header)
    t.equal(err.$metadata?.httpStatusCode, 400)
    t.equal(err.message, `Value for ${header} header is invalid.`)
  }
  t.equal((await errorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'malformed' })))).name, 'NotFound')
})

t.test('a well-formed checksum that does not match is still BadDigest', async (t) => {
  const err = await errorOf(put('mismatch', { ChecksumCRC32: 'AAAAAA==' }))
  t.equal(err.name, 'BadDigest')
  t.equal(err.$metadata?.httpStatusCode, 400)
})

t.test('a malformed trailing checksum is InvalidRequest (raw: the SDK always computes its trailer)', async (t) => {
  const data = Buffer.from('trailer body')
  const body = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\nx-amz-checksum-crc32:nope\r\n\r\n')])
  const res = await sendRaw(
    server.url,
    {
      method: 'PUT',
      path: `/${BUCKET}/trailer`,
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(data.length),
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
    },
    body,
  )
  t.equal(res.status, 400)
  t.match(res.body, '<Code>InvalidRequest</Code><Message>Value for x-amz-checksum-crc32 trailing header is invalid.</Message>')
  t.same(await dataFiles(dataDir), [], 'nothing stored')
})
