import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import t from 'tap'
import { startLocalS3 } from '../../../src/local/s3/server.js'
import { BUCKET, CREDENTIALS, dataFiles, errorOf, makeClient, startS3 } from './helpers.js'

t.test('empty objects', async (t) => {
  const { client } = await startS3(t)
  const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'empty', Body: '' }))
  t.equal(put.ETag, '"d41d8cd98f00b204e9800998ecf8427e"')
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'empty' }))
  t.equal(got.ContentLength, 0)
  t.equal(await got.Body?.transformToString(), '')
  const range = await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'empty', Range: 'bytes=0-' })))
  t.equal(range.name, 'InvalidRange')
})

t.test('concurrent PUTs of one key: one wins, the losers leave no files', async (t) => {
  const { client, dataDir } = await startS3(t)
  const bodies = Array.from({ length: 8 }, (_, i) => `version ${i} `.repeat(1000))
  await Promise.all(bodies.map((Body) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'contended', Body }))))
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'contended' }))
  t.ok(bodies.includes(await got.Body!.transformToString()))
  t.equal((await dataFiles(dataDir)).length, 1)
})

t.test('a reader keeps reading the version it opened while the object is deleted', async (t) => {
  const { client, dataDir } = await startS3(t)
  // Two parts, so two files: the second is opened only after the delete below.
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(3 * 1024 * 1024)]
  const body = Buffer.concat(parts)
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'busy' }))
  const etags = []
  for (const [i, Body] of parts.entries()) {
    etags.push((await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'busy', UploadId, PartNumber: i + 1, Body }))).ETag)
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'busy', UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  )
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'busy' }))
  const stream = got.Body as Readable
  const chunks: Buffer[] = []
  const iterator = stream[Symbol.asyncIterator]()
  const first = await iterator.next()
  chunks.push(first.value as Buffer)
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'busy' }))
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'busy', Body: 'replacement' }))
  for (let r = await iterator.next(); !r.done; r = await iterator.next()) chunks.push(r.value as Buffer)
  t.ok(Buffer.concat(chunks).equals(body), 'the whole old version was read')
  // Once the reader is done, the old version's file goes; only the replacement remains.
  const deadline = Date.now() + 10_000
  while ((await dataFiles(dataDir)).length !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  t.equal((await dataFiles(dataDir)).length, 1)
})

t.test('state survives a restart; stray files from a crash are cleaned up', async (t) => {
  const dataDir = t.testdir()
  const first = await startLocalS3({ dataDir, credentials: CREDENTIALS, buckets: [BUCKET] })
  const c1 = makeClient(first.url)
  await c1.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: 'still here', ContentType: 'text/plain', Metadata: { a: 'b' } }))
  const { UploadId } = await c1.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'pending' }))
  await c1.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'pending', UploadId, PartNumber: 1, Body: 'part one' }))
  c1.destroy()
  await first.close()
  // Simulate a crash: a data file no metadata refers to, and a half-written temp file.
  await writeFile(join(dataDir, 'buckets', BUCKET, 'data', 'orphan'), 'x')
  await writeFile(join(dataDir, 'tmp', 'half-written'), 'x')

  const second = await startLocalS3({ dataDir, credentials: CREDENTIALS, buckets: [BUCKET] })
  t.teardown(() => second.close())
  const c2 = makeClient(second.url)
  t.teardown(() => c2.destroy())
  const got = await c2.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'kept' }))
  t.equal(await got.Body?.transformToString(), 'still here')
  t.same(got.Metadata, { a: 'b' })
  const uploads = await c2.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))
  t.same(uploads.Uploads?.map((u) => u.UploadId), [UploadId])
  const files = await dataFiles(dataDir)
  t.notOk(files.some((f) => f.endsWith('orphan') || f.endsWith('half-written')), 'crash leftovers removed')
  await c2.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'pending', UploadId }))
  t.equal((await dataFiles(dataDir)).length, 1)
})
