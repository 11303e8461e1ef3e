import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { startLocalS3 } from '../../../src/local/s3/server.js'
import { superviseComponent } from '../../../src/local/supervisor.js'
import { capturingLogger, eventually } from '../crash-helpers.js'
import { BUCKET, CREDENTIALS, dataFiles, errorOf, listFiles, makeClient, REGION } from './helpers.js'

const MiB = 1024 * 1024
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')
const bytes = (sizeBytes: number, seed: number) => Buffer.alloc(sizeBytes, seed)

/** A body that sends `sentBytes` of the `sizeBytes` it announces, then nothing more: a write the crash cuts. */
function stalledBody(sentBytes: number): Readable {
  let sent = false
  return new Readable({
    read() {
      if (sent) return
      sent = true
      this.push(bytes(sentBytes, 7))
    },
  })
}

async function read(client: S3Client, key: string): Promise<Buffer> {
  const obj = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
  return Buffer.from(await obj.Body!.transformToByteArray())
}

t.test('an S3 process killed mid-write restarts on its port with every complete object and open upload', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-s3-crash-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const { logger, lines } = capturingLogger('warn')
  const s3 = await superviseComponent(
    { role: 's3', options: { host: '127.0.0.1', port: 0, dataDir, region: REGION, credentials: CREDENTIALS, buckets: [BUCKET] } },
    { logLevel: process.env.TEST_LOG_LEVEL ?? 'silent', logger, policy: { initialDelayMs: 50, maxDelayMs: 1000, stableAfterMs: 60_000 } },
  )
  t.teardown(() => s3.close())
  const client = makeClient(s3.info.url!)
  t.teardown(() => client.destroy())
  // No retries for the writes the crash cuts: they must fail, not be resent to the restarted server.
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
  const writer = new S3Client({ endpoint: s3.info.url!, region: REGION, forcePathStyle: true, credentials: CREDENTIALS, maxAttempts: 1, logger: quiet })
  t.teardown(() => writer.destroy())

  // Complete objects: single PUTs, one overwritten later, and a completed multipart object.
  const complete = new Map<string, string>()
  for (const [i, size] of [0, 1, 64 * 1024, 3 * MiB].entries()) {
    const body = bytes(size, i + 1)
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `complete/${i}`, Body: body }))
    complete.set(`complete/${i}`, md5(body))
  }
  const multi = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'complete/multipart' }))
  const parts = [bytes(5 * MiB, 11), bytes(MiB, 12)]
  const etags = []
  for (const [i, body] of parts.entries()) {
    etags.push((await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'complete/multipart', UploadId: multi.UploadId, PartNumber: i + 1, Body: body }))).ETag)
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: 'complete/multipart',
      UploadId: multi.UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  )
  complete.set('complete/multipart', md5(Buffer.concat(parts)))
  const open = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'open/upload' }))
  await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'open/upload', UploadId: open.UploadId, PartNumber: 1, Body: bytes(5 * MiB, 21) }))

  // Writes in flight at the kill: a new object, an overwrite of a complete one, and a part.
  const cut = new AbortController()
  const inFlight = [
    writer.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cut/new', Body: stalledBody(2 * MiB), ContentLength: 8 * MiB }), { abortSignal: cut.signal }),
    writer.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'complete/1', Body: stalledBody(MiB), ContentLength: 4 * MiB }), { abortSignal: cut.signal }),
    writer.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'open/upload', UploadId: open.UploadId, PartNumber: 2, Body: stalledBody(MiB), ContentLength: 5 * MiB }),
      { abortSignal: cut.signal },
    ),
  ].map((p) => p.then(() => 'written', () => 'cut'))
  const receiving = async () => (await listFiles(dataDir)).filter((f) => f.startsWith('tmp/')).length
  await eventually('three bodies being received', async () => (await receiving()) >= 3, 15_000)

  const pid = s3.pid()!
  process.kill(pid, 'SIGKILL')
  await eventually('restarted', () => (s3.pid() ?? pid) !== pid)
  cut.abort()
  t.same(await Promise.all(inFlight), ['cut', 'cut', 'cut'], 'the cut writes failed for their callers')
  t.match(lines.find((l) => l.msg === 'local stack process died'), { role: 's3', pid, signal: 'SIGKILL' })

  for (const [key, sum] of complete) t.equal(md5(await read(client, key)), sum, `${key} intact`)
  t.equal((await errorOf(read(client, 'cut/new'))).name, 'NoSuchKey', 'a half-written object never appears')
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))
  t.same(listed.Contents?.map((o) => o.Key), [...complete.keys()].sort())
  t.same(await receiving(), 0, 'half-received bodies are wiped')

  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))
  t.same(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [['open/upload', open.UploadId]], 'the open upload is still listed')
  const listedParts = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'open/upload', UploadId: open.UploadId }))
  t.same(listedParts.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5 * MiB]], 'with its complete part only')
  await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'open/upload', UploadId: open.UploadId }))
  t.equal((await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads, undefined, 'and it can be aborted')
  // What is left on disk is exactly the complete objects' data: one file per PUT, two for the multipart one.
  await eventually('no orphan data files', async () => (await dataFiles(dataDir)).length === 6)
})

t.test('a part whose data a crashed CompleteMultipartUpload had already moved is no longer listed', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-s3-complete-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const first = await startLocalS3({ dataDir, credentials: CREDENTIALS, buckets: [BUCKET] })
  const before = makeClient(first.url)
  const { UploadId } = await before.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'half-completed' }))
  const etags = []
  for (const [i, body] of [bytes(5 * MiB, 1), bytes(10, 2)].entries()) {
    etags.push((await before.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'half-completed', UploadId, PartNumber: i + 1, Body: body }))).ETag)
  }
  before.destroy()
  await first.close()
  // What the crash leaves: part 1's data renamed into the object's data, its metadata still in the upload.
  const part1 = (await listFiles(dataDir)).find((f) => /\/uploads\/[^/]+\/1-[^/]+$/.test(f) && !f.endsWith('.json'))!
  await unlink(join(dataDir, part1))

  const second = await startLocalS3({ dataDir, credentials: CREDENTIALS, buckets: [BUCKET] })
  t.teardown(() => second.close())
  const client = makeClient(second.url)
  t.teardown(() => client.destroy())
  const listed = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'half-completed', UploadId }))
  t.same(listed.Parts?.map((p) => p.PartNumber), [2])
  const complete = new CompleteMultipartUploadCommand({
    Bucket: BUCKET,
    Key: 'half-completed',
    UploadId,
    MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
  })
  const err = await errorOf(client.send(complete))
  t.equal(err.name, 'InvalidPart')
  await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'half-completed', UploadId }))
  t.same((await listFiles(dataDir)).filter((f) => f.includes('/uploads/')), [], 'nothing of the upload is left')
})
