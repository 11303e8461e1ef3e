import type { S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { abortUpload } from '../../src/clients/s3-upload.js'

/** A stand-in for the one call abortUpload makes: it fails with `err`. */
const failingWith = (err: Error) => ({ send: async () => Promise.reject(err) }) as unknown as S3Client

t.test('aborting a multipart upload that is already gone counts as done', async (t) => {
  const gone = Object.assign(new Error('The specified upload does not exist.'), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } })
  await t.resolves(abortUpload(failingWith(gone), { Bucket: 'b', Key: 'k', UploadId: 'u' }, new AbortController().signal))
})

t.test('any other failure is a failure (the cleanup is retried)', async (t) => {
  const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
  await t.rejects(abortUpload(failingWith(down), { Bucket: 'b', Key: 'k', UploadId: 'u' }, new AbortController().signal), { code: 'ECONNREFUSED' })
})
