// A body whose announced length fits one part goes to S3 as one PutObject, read whole first: against
// the local S3 server over real sockets, with the SDK's client.
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import pino from 'pino'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { createS3Client } from '../../src/clients/aws.js'
import { streamToS3, type StreamingUploadDeps } from '../../src/clients/s3-upload.js'
import { createCleanupQueue } from '../../src/lib/cleanup-queue.js'
import { createUploadBudget } from '../../src/lib/upload-budget.js'
import { startLocalS3 } from '../../src/local/s3/server.js'
import { BUCKET, CREDENTIALS, REGION } from '../local/s3/helpers.js'

const PART = 5 * 1024 * 1024

async function setup(t: Test) {
  const server = await startLocalS3({ dataDir: t.testdir(), credentials: CREDENTIALS, buckets: [BUCKET] })
  t.teardown(() => server.close())
  const operations: string[] = []
  const client = createS3Client({
    region: REGION,
    endpoint: server.url,
    credentials: CREDENTIALS,
    forcePathStyle: true,
    maxAttempts: 1,
    onCall: { called: (_service, operation) => void operations.push(operation) },
  })
  t.teardown(() => client.destroy())
  const deferred: string[] = []
  const cleanup = createCleanupQueue({ logger: pino({ level: 'silent' }), attemptTimeoutMs: 1000 })
  t.teardown(() => cleanup.close())
  const budget = createUploadBudget({ maxBufferedBytes: 4 * PART, partSizeBytes: PART })
  const deps: StreamingUploadDeps = {
    client,
    partSizeBytes: PART,
    queueSize: 2,
    cleanup: { ...cleanup, run: (task) => cleanup.run(task), defer: (task) => void deferred.push(String(task.what['cleanup'])) } as typeof cleanup,
    discard: async () => undefined,
    budget,
  }
  const left = async () => ({
    keys: ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key),
    uploads: (await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [],
  })
  return { server, client, deps, operations, deferred, budget, left }
}

/** A body in pieces, as a socket delivers it. */
const pieces = (...chunks: Buffer[]) => Readable.from(chunks, { objectMode: false })

t.test('a body that fits one part is one PutObject, with its type and metadata; its room goes back', async (t) => {
  const { client, deps, operations, budget, left } = await setup(t)
  const body = Buffer.from('The council approved the budget on Tuesday.')
  await streamToS3(deps, { bucket: BUCKET, key: 'jobs/a/input' }, pieces(body.subarray(0, 10), body.subarray(10)), {
    contentType: 'text/plain',
    metadata: { 'sagegate-job-id': 'a' },
    expectedBytes: body.length,
  })
  t.same(operations, ['PutObject'], 'no multipart upload for a small body')
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'jobs/a/input' }))
  t.equal(await got.Body!.transformToString(), body.toString())
  t.equal(got.ContentType, 'text/plain')
  t.same(got.Metadata, { 'sagegate-job-id': 'a' })
  t.equal(budget.heldBytes, 0, 'the room reserved for it is given back')
  t.same((await left()).uploads, [])
})

t.test('an announced length of exactly one part is still one PutObject; one byte more is a multipart upload', async (t) => {
  const { deps, operations, left } = await setup(t)
  const part = Buffer.alloc(PART, 1)
  await streamToS3(deps, { bucket: BUCKET, key: 'one' }, pieces(part), { contentType: 'application/octet-stream', expectedBytes: PART })
  t.same(operations, ['PutObject'])
  operations.length = 0
  const more = Buffer.alloc(PART + 1, 2)
  await streamToS3(deps, { bucket: BUCKET, key: 'two' }, pieces(more), { contentType: 'application/octet-stream', expectedBytes: PART + 1 })
  t.same(operations, ['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload'])
  t.same((await left()).keys, ['one', 'two'])
})

t.test('a body that fails before its end writes nothing and gives its room back', async (t) => {
  const { deps, operations, budget, left } = await setup(t)
  const body = new Readable({ read() {} })
  body.push(Buffer.alloc(100, 1))
  const stored = streamToS3(deps, { bucket: BUCKET, key: 'failed' }, body, { contentType: 'text/plain', expectedBytes: 1000 })
  setImmediate(() => body.destroy(new Error('the client left')))
  await t.rejects(stored, { message: 'the client left' })
  t.same(operations, [], 'no request reached S3')
  t.equal(budget.heldBytes, 0)
  t.same(await left(), { keys: [], uploads: [] })
})

t.test('a body longer than it announced is refused before anything is sent', async (t) => {
  const { deps, operations, budget, left } = await setup(t)
  await t.rejects(streamToS3(deps, { bucket: BUCKET, key: 'long' }, pieces(Buffer.alloc(60), Buffer.alloc(60)), { contentType: 'text/plain', expectedBytes: 100 }), {
    message: /longer than the 100 bytes announced/,
  })
  t.same(operations, [])
  t.equal(budget.heldBytes, 0)
  t.same(await left(), { keys: [], uploads: [] })
})

t.test('S3 refusing the PutObject is a storage error, and the key is swept later', async (t) => {
  const { deps, deferred, budget } = await setup(t)
  await t.rejects(streamToS3(deps, { bucket: 'no-such-bucket', key: 'k' }, pieces(Buffer.from('text')), { contentType: 'text/plain', expectedBytes: 4 }))
  t.same(deferred, ['sweep'], 'a PutObject that failed may still land: its key is looked at again')
  t.equal(budget.heldBytes, 0)
})
