// Small bodies (at most SMALL_BODY_BYTES) are received in memory and written, read and removed with
// synchronous fs calls; larger ones stream through tmp/. Both must behave the same on the wire.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { createHash, randomUUID } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { SMALL_BODY_BYTES } from '../../../src/local/s3/ingest.js'
import { startLocalS3 } from '../../../src/local/s3/server.js'
import { ObjectStore } from '../../../src/local/s3/store.js'
import { BUCKET, CREDENTIALS, dataFiles, errorOf, listFiles, makeClient, startS3, until } from './helpers.js'
import { openRaw, sendRaw, sha256Hex } from './raw-http.js'

const md5Hex = (b: Buffer): string => createHash('md5').update(b).digest('hex')
const md5B64 = (b: Buffer): string => createHash('md5').update(b).digest('base64')
const pattern = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}

async function getBytes(client: ReturnType<typeof makeClient>, key: string, range?: string): Promise<{ body: Buffer; etag: string | undefined; contentRange: string | undefined }> {
  const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(range ? { Range: range } : {}) }))
  return { body: Buffer.from(await r.Body!.transformToByteArray()), etag: r.ETag, contentRange: r.ContentRange }
}

t.test('objects at, below and above the threshold round-trip, whole and by range', async (t) => {
  const { client, dataDir } = await startS3(t)
  for (const size of [0, 1, 300, SMALL_BODY_BYTES - 1, SMALL_BODY_BYTES, SMALL_BODY_BYTES + 1, 3 * SMALL_BODY_BYTES]) {
    const data = pattern(size, size & 0xff)
    const key = `size-${size}`
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }))
    t.equal(put.ETag, `"${md5Hex(data)}"`, `${key} etag`)
    const whole = await getBytes(client, key)
    t.ok(whole.body.equals(data), `${key} body`)
    t.equal(whole.etag, `"${md5Hex(data)}"`)
    if (size >= 10) {
      const r = await getBytes(client, key, `bytes=3-${size - 2}`)
      t.ok(r.body.equals(data.subarray(3, size - 1)), `${key} range`)
      t.equal(r.contentRange, `bytes 3-${size - 2}/${size}`)
      const suffix = await getBytes(client, key, 'bytes=-7')
      t.ok(suffix.body.equals(data.subarray(size - 7)), `${key} suffix range`)
    }
  }
  // One data file per object, nothing left in tmp/.
  const files = await dataFiles(dataDir)
  t.equal(files.filter((f) => f.startsWith('tmp/')).length, 0)
  t.equal(files.length, 7)
})

t.test('a small body waits in memory (nothing on disk); a larger one streams into tmp/', async (t) => {
  const { server, dataDir } = await startS3(t)
  const stalled = async (declared: number) => {
    const { req, response } = await openRaw(server.url, {
      method: 'PUT',
      path: `/${BUCKET}/stalled-${declared}`,
      headers: { 'content-length': String(declared), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    })
    response.catch(() => undefined)
    req.write(Buffer.alloc(1000, 1))
    return req
  }
  const small = await stalled(SMALL_BODY_BYTES)
  // Give the server time to have opened a file, were it going to.
  await new Promise((r) => setTimeout(r, 300))
  t.same(await dataFiles(dataDir), [], 'a stalled small body leaves nothing on disk')
  small.destroy()

  const large = await stalled(SMALL_BODY_BYTES + 1)
  await until(async () => (await dataFiles(dataDir)).some((f) => f.startsWith('tmp/')), 'the temp file of the large body')
  large.destroy()
  await until(async () => (await dataFiles(dataDir)).length === 0, 'the temp file to be removed')
  t.pass('the cut large body removed its temp file')
})

t.test('a small body that fails verification is refused and leaves nothing behind', async (t) => {
  const { server, client, dataDir } = await startS3(t)
  const data = pattern(300, 9)
  const cases: { name: string; headers: Record<string, string>; code: string }[] = [
    { name: 'Content-MD5', headers: { 'content-md5': md5B64(Buffer.from('other')), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, code: 'BadDigest' },
    { name: 'x-amz-checksum-sha256', headers: { 'x-amz-checksum-sha256': createHash('sha256').update('other').digest('base64'), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, code: 'BadDigest' },
    { name: 'x-amz-content-sha256', headers: { 'x-amz-content-sha256': sha256Hex('other') }, code: 'XAmzContentSHA256Mismatch' },
  ]
  // An existing version must survive a refused overwrite.
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: Buffer.from('old') }))
  const before = await listFiles(dataDir)
  for (const c of cases) {
    for (const key of ['fresh', 'kept']) {
      const res = await sendRaw(server.url, { method: 'PUT', path: `/${BUCKET}/${key}`, headers: { 'content-length': String(data.length), ...c.headers } }, data)
      t.equal(res.status, 400, `${c.name} ${key}`)
      t.match(res.body, new RegExp(`<Code>${c.code}</Code>`))
    }
  }
  t.same(await listFiles(dataDir), before, 'no file added, removed or left in tmp/')
  t.equal((await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'fresh' })))).name, 'NoSuchKey')
  t.equal((await getBytes(client, 'kept')).body.toString(), 'old')
})

t.test('a small body cut off before its declared length leaves nothing behind', async (t) => {
  const { server, dataDir } = await startS3(t)
  const { req, response } = await openRaw(server.url, {
    method: 'PUT',
    path: `/${BUCKET}/short`,
    headers: { 'content-length': '500', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  })
  req.write(Buffer.alloc(200, 1))
  // The client gives up: the server sees the connection end before the declared length.
  setTimeout(() => req.destroy(), 100)
  await response.catch(() => undefined)
  await new Promise((r) => setTimeout(r, 100))
  t.same(await dataFiles(dataDir), [])
  t.same((await listFiles(dataDir)).filter((f) => f.includes('/objects/')), [])
})

t.test('a data file written by a small PUT whose metadata never landed is removed when the store opens', async (t) => {
  const dataDir = t.testdir()
  const creds = { dataDir, credentials: CREDENTIALS, buckets: [BUCKET] }
  let server = await startLocalS3(creds)
  let client = makeClient(server.url)
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'survivor', Body: Buffer.from('kept bytes') }))
  client.destroy()
  await server.close()
  // What a crash between writing data/<uuid> and renaming the metadata into place leaves behind.
  const orphan = join(dataDir, 'buckets', BUCKET, 'data', randomUUID())
  await writeFile(orphan, pattern(300, 1))
  await writeFile(join(dataDir, 'tmp', `${randomUUID()}.json`), '{"key":"half')
  server = await startLocalS3(creds)
  client = makeClient(server.url)
  t.teardown(async () => {
    client.destroy()
    await server.close()
  })
  t.equal((await readdir(join(dataDir, 'buckets', BUCKET, 'data'))).length, 1, 'only the survivor data file is left')
  t.same(await readdir(join(dataDir, 'tmp')), [])
  t.equal((await getBytes(client, 'survivor')).body.toString(), 'kept bytes')
})

t.test('a failed metadata write removes the small data file it wrote', async (t) => {
  const dataDir = t.testdir()
  const store = await ObjectStore.open(dataDir, pino({ level: 'silent' }))
  await store.createBucket(BUCKET)
  const bucket = store.bucket(BUCKET)
  const write = store.writeJsonAtomic.bind(store)
  store.writeJsonAtomic = () => {
    throw new Error('disk full')
  }
  await t.rejects(store.putObject(bucket, { key: 'k', mode: 'rename', sources: [{ data: Buffer.from('abc'), sizeBytes: 3 }], meta: { sizeBytes: 3, etag: '"x"', contentType: 'text/plain', headers: {}, userMeta: {} } }), /disk full/)
  store.writeJsonAtomic = write
  t.same(await readdir(join(dataDir, 'buckets', BUCKET, 'data')), [])
  t.same(await readdir(join(dataDir, 'buckets', BUCKET, 'objects')), [])
  t.equal(bucket.objects.size, 0)
})

t.test('a small object replaced while a reader holds it keeps its file until the reader is done', async (t) => {
  const dataDir = t.testdir()
  const store = await ObjectStore.open(dataDir, pino({ level: 'silent' }))
  await store.createBucket(BUCKET)
  const bucket = store.bucket(BUCKET)
  const meta = { etag: '"x"', contentType: 'text/plain', headers: {}, userMeta: {} }
  const v1 = await store.putObject(bucket, { key: 'k', mode: 'rename', sources: [{ data: Buffer.from('one'), sizeBytes: 3 }], meta: { ...meta, sizeBytes: 3 } })
  const held = store.object(bucket, 'k')!
  store.acquire(held)
  await store.putObject(bucket, { key: 'k', mode: 'rename', sources: [{ data: Buffer.from('two!'), sizeBytes: 4 }], meta: { ...meta, sizeBytes: 4 } })
  const dataDirOf = join(dataDir, 'buckets', BUCKET, 'data')
  t.equal((await readdir(dataDirOf)).length, 2, 'the replaced file stays while read')
  store.release(held, bucket)
  // Small files are removed synchronously on release.
  t.same(await readdir(dataDirOf), [store.object(bucket, 'k')!.meta.segments[0]!.file])
  t.not(v1.segments[0]!.file, store.object(bucket, 'k')!.meta.segments[0]!.file)
  await store.deleteObject(bucket, 'k')
  t.same(await readdir(dataDirOf), [], 'a delete removes the small data file before it returns')
  t.same(await readdir(join(dataDir, 'buckets', BUCKET, 'objects')), [])
})

t.test('small objects overwritten during concurrent reads: every read is one whole version', async (t) => {
  const { client, dataDir } = await startS3(t)
  const versions = Array.from({ length: 6 }, (_, i) => pattern(200 + 97 * i, i + 1))
  const byEtag = new Map(versions.map((v) => [`"${md5Hex(v)}"`, v]))
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hot', Body: versions[0] }))
  const ops: Promise<void>[] = []
  let reads = 0
  for (let round = 0; round < 40; round++) {
    const v = versions[round % versions.length]!
    ops.push(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hot', Body: v })).then(() => undefined))
    for (let r = 0; r < 3; r++) {
      ops.push(
        getBytes(client, 'hot').then(({ body, etag }) => {
          reads++
          const expected = byEtag.get(etag ?? '')
          t.ok(expected?.equals(body), 'a read returns exactly the version its ETag names')
        }),
      )
    }
  }
  await Promise.all(ops)
  t.equal(reads, 120)
  // Retired versions are all gone; the current one is the only data file.
  t.equal((await dataFiles(dataDir)).length, 1)
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'hot' }))
  t.same(await dataFiles(dataDir), [])
})

t.test('a small range of a large object and the large object itself read back correctly', async (t) => {
  const { client } = await startS3(t)
  const data = pattern(2 * SMALL_BODY_BYTES + 12_345, 5)
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: data }))
  const mid = await getBytes(client, 'big', `bytes=${SMALL_BODY_BYTES - 10}-${SMALL_BODY_BYTES + 9}`)
  t.ok(mid.body.equals(data.subarray(SMALL_BODY_BYTES - 10, SMALL_BODY_BYTES + 10)))
  const near = await getBytes(client, 'big', `bytes=100-${100 + SMALL_BODY_BYTES - 1}`)
  t.ok(near.body.equals(data.subarray(100, 100 + SMALL_BODY_BYTES)), 'a range of exactly the threshold')
  const over = await getBytes(client, 'big', `bytes=100-${100 + SMALL_BODY_BYTES}`)
  t.ok(over.body.equals(data.subarray(100, 101 + SMALL_BODY_BYTES)), 'a range just over the threshold')
  t.ok((await getBytes(client, 'big')).body.equals(data))
})
