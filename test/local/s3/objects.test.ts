import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import { Readable } from 'node:stream'
import t from 'tap'
import { BUCKET, errorOf, listFiles, startS3 } from './helpers.js'

t.test('put, get, head and delete round trip with metadata', async (t) => {
  const { client, dataDir } = await startS3(t)
  const put = await client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'docs/hello.txt',
      Body: 'hello world',
      ContentType: 'text/plain; charset=utf-8',
      ContentDisposition: 'attachment; filename="hello.txt"',
      CacheControl: 'max-age=60',
      Metadata: { owner: 'alice', 'job-id': '42' },
    }),
  )
  t.equal(put.ETag, '"5eb63bbbe01eeed093cb22bb8f5acdc3"')
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/hello.txt' }))
  t.equal(await got.Body?.transformToString(), 'hello world')
  t.equal(got.ContentType, 'text/plain; charset=utf-8')
  t.equal(got.ContentLength, 11)
  t.equal(got.ETag, put.ETag)
  t.equal(got.ContentDisposition, 'attachment; filename="hello.txt"')
  t.equal(got.CacheControl, 'max-age=60')
  t.same(got.Metadata, { owner: 'alice', 'job-id': '42' })
  t.equal(got.AcceptRanges, 'bytes')
  t.ok(got.LastModified instanceof Date)
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'docs/hello.txt' }))
  t.equal(head.ContentLength, 11)
  t.equal(head.ContentType, 'text/plain; charset=utf-8')
  t.same(head.Metadata, { owner: 'alice', 'job-id': '42' })

  const del = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'docs/hello.txt' }))
  t.equal(del.$metadata.httpStatusCode, 204)
  const again = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'docs/hello.txt' }))
  t.equal(again.$metadata.httpStatusCode, 204, 'delete is idempotent')
  await t.resolveMatch(listFiles(dataDir), [/bucket\.json$/], 'nothing but the bucket record is left')
})

t.test('a streamed body (aws-chunked with CRC32 trailer) round-trips', async (t) => {
  const { client } = await startS3(t)
  const parts = [Buffer.alloc(70_000, 1), Buffer.alloc(3, 2), Buffer.alloc(200_000, 3)]
  await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'stream.bin', Body: Readable.from(parts), ContentLength: 270_003, ContentEncoding: 'gzip' }),
  )
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'stream.bin' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts)))
  t.equal(got.ContentEncoding, 'gzip', 'aws-chunked is not stored as a content encoding')
  t.equal(got.ChecksumCRC32 !== undefined, true, 'full-object CRC32 returned in checksum mode')
})

t.test('keys with spaces, unicode, percent signs and slashes', async (t) => {
  const { client } = await startS3(t)
  const keys = ['a b/c d.txt', 'ünï/çødé/🎉.bin', '100%/%41%2F', 'plus+sign&x=y?z#h', '/leading//double/', 'trailing space ']
  for (const Key of keys) {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `body of ${Key}` }))
  }
  for (const Key of keys) {
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key }))
    t.equal(await got.Body?.transformToString(), `body of ${Key}`, Key)
  }
})

t.test('range reads', async (t) => {
  const { client } = await startS3(t)
  const body = Buffer.from('0123456789abcdefghij')
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'r', Body: body }))
  const read = async (Range: string) => {
    const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'r', Range }))
    return { status: r.$metadata.httpStatusCode, text: await r.Body?.transformToString(), range: r.ContentRange, length: r.ContentLength }
  }
  t.same(await read('bytes=2-5'), { status: 206, text: '2345', range: 'bytes 2-5/20', length: 4 })
  t.same(await read('bytes=15-'), { status: 206, text: 'fghij', range: 'bytes 15-19/20', length: 5 })
  t.same(await read('bytes=-3'), { status: 206, text: 'hij', range: 'bytes 17-19/20', length: 3 })
  t.same(await read('bytes=10-1000'), { status: 206, text: 'abcdefghij', range: 'bytes 10-19/20', length: 10 })
  const err = await errorOf(read('bytes=20-'))
  t.equal(err.name, 'InvalidRange')
  t.equal(err.$metadata?.httpStatusCode, 416)
})

t.test('missing objects: HeadObject is NotFound, GetObject is NoSuchKey, unknown bucket NoSuchBucket', async (t) => {
  const { client } = await startS3(t)
  const head = await errorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'nope' })))
  t.equal(head.name, 'NotFound')
  t.equal(head.$metadata?.httpStatusCode, 404)
  const get = await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope' })))
  t.equal(get.name, 'NoSuchKey')
  const bucket = await errorOf(client.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })))
  t.equal(bucket.name, 'NoSuchBucket')
})

t.test('conditional requests', async (t) => {
  const { client } = await startS3(t)
  const { ETag } = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'c', Body: 'v1' }))
  const notModified = await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c', IfNoneMatch: ETag })))
  t.equal(notModified.$metadata?.httpStatusCode, 304)
  const failed = await errorOf(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c', IfMatch: '"nope"' })))
  t.equal(failed.name, 'PreconditionFailed')
  const ok = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c', IfMatch: ETag }))
  t.equal(await ok.Body?.transformToString(), 'v1')
  const exists = await errorOf(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'c', Body: 'v2', IfNoneMatch: '*' })))
  t.equal(exists.name, 'PreconditionFailed', 'If-None-Match: * refuses to overwrite')
  const still = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c' }))
  t.equal(await still.Body?.transformToString(), 'v1')
})

t.test('overwriting an object removes the files of the old one', async (t) => {
  const { client, dataDir } = await startS3(t)
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'o', Body: 'first' }))
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'o', Body: 'second version' }))
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'o' }))
  t.equal(await got.Body?.transformToString(), 'second version')
  const data = (await listFiles(dataDir)).filter((f) => f.includes('/data/'))
  t.equal(data.length, 1)
})

t.test('CopyObject copies data and metadata, or replaces metadata', async (t) => {
  const { client } = await startS3(t)
  const src = await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a b.txt', Body: 'copy me', ContentType: 'text/plain', Metadata: { k: 'v' } }),
  )
  const copy = await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst/1', CopySource: `${BUCKET}/${encodeURIComponent('src/a b.txt')}` }))
  t.equal(copy.CopyObjectResult?.ETag, src.ETag)
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dst/1' }))
  t.equal(await got.Body?.transformToString(), 'copy me')
  t.equal(got.ContentType, 'text/plain')
  t.same(got.Metadata, { k: 'v' })

  await client.send(
    new CopyObjectCommand({
      Bucket: BUCKET, Key: 'dst/2', CopySource: `${BUCKET}/src/a%20b.txt`,
      MetadataDirective: 'REPLACE', ContentType: 'application/json', Metadata: { other: 'x' },
    }),
  )
  // Deleting the source must not affect the copies.
  await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'src/a b.txt' }))
  const got2 = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dst/2' }))
  t.equal(await got2.Body?.transformToString(), 'copy me')
  t.equal(got2.ContentType, 'application/json')
  t.same(got2.Metadata, { other: 'x' })
  const missing = await errorOf(client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'x', CopySource: `${BUCKET}/nope` })))
  t.equal(missing.name, 'NoSuchKey')
})
