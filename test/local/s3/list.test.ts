import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import t from 'tap'
import { BUCKET, errorOf, startS3 } from './helpers.js'

async function putAll(client: S3Client, keys: string[]): Promise<void> {
  for (const Key of keys) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }))
}

const KEYS = ['a/1', 'a/2', 'a/b/3', 'b/1', 'c', 'd/x/y', 'é', 'z']

t.test('ListObjectsV2 with prefix and delimiter', async (t) => {
  const { client } = await startS3(t)
  await putAll(client, KEYS)
  const all = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))
  t.same(all.Contents?.map((c) => c.Key), KEYS.slice().sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))))
  t.equal(all.KeyCount, KEYS.length)
  t.equal(all.IsTruncated, false)
  t.equal(all.Contents?.[0]?.Size, 3)
  t.match(all.Contents?.[0]?.ETag, /^"[0-9a-f]{32}"$/)

  const top = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/' }))
  t.same(top.Contents?.map((c) => c.Key), ['c', 'z', 'é'])
  t.same(top.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/', 'd/'])
  t.equal(top.KeyCount, 6)

  const underA = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'a/', Delimiter: '/' }))
  t.same(underA.Contents?.map((c) => c.Key), ['a/1', 'a/2'])
  t.same(underA.CommonPrefixes?.map((p) => p.Prefix), ['a/b/'])
})

t.test('ListObjectsV2 pagination with continuation tokens, max-keys and start-after', async (t) => {
  const { client } = await startS3(t)
  await putAll(client, KEYS)
  const seen: string[] = []
  let token: string | undefined
  let pages = 0
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/', MaxKeys: 2, ContinuationToken: token }))
    pages++
    t.ok((page.KeyCount ?? 0) <= 2)
    seen.push(...(page.Contents ?? []).map((c) => c.Key ?? ''), ...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''))
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  t.equal(pages, 3)
  t.same(seen.sort(), ['a/', 'b/', 'c', 'd/', 'z', 'é'].sort())

  const after = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, StartAfter: 'b/1' }))
  t.same(after.Contents?.map((c) => c.Key), ['c', 'd/x/y', 'z', 'é'])
  const bad = await errorOf(client.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: '!!!' })))
  t.equal(bad.name, 'InvalidArgument')
})

t.test('ListObjects (v1) with marker', async (t) => {
  const { client } = await startS3(t)
  await putAll(client, KEYS)
  const page = await client.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', MaxKeys: 1 }))
  t.same(page.CommonPrefixes?.map((p) => p.Prefix), ['a/'])
  t.equal(page.NextMarker, 'a/')
  const next = await client.send(new ListObjectsCommand({ Bucket: BUCKET, Delimiter: '/', Marker: 'a/', MaxKeys: 1 }))
  t.same(next.CommonPrefixes?.map((p) => p.Prefix), ['b/'])
})

t.test('DeleteObjects deletes many keys, quietly or not', async (t) => {
  const { client } = await startS3(t)
  await putAll(client, KEYS)
  const res = await client.send(
    new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'a/1' }, { Key: 'a/2' }, { Key: 'missing' }] } }),
  )
  t.same(res.Deleted?.map((d) => d.Key).sort(), ['a/1', 'a/2', 'missing'])
  const quiet = await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'c' }], Quiet: true } }))
  t.equal(quiet.Deleted, undefined)
  const left = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))
  t.same(left.Contents?.map((c) => c.Key), ['a/b/3', 'b/1', 'd/x/y', 'z', 'é'])
})

t.test('bucket lifecycle: create, head, list, delete only when empty', async (t) => {
  const { client } = await startS3(t)
  await client.send(new CreateBucketCommand({ Bucket: 'second-bucket' }))
  const buckets = await client.send(new ListBucketsCommand({}))
  t.same(buckets.Buckets?.map((b) => b.Name), ['second-bucket', BUCKET], 'sorted by name')
  await client.send(new HeadBucketCommand({ Bucket: 'second-bucket' }))
  const missing = await errorOf(client.send(new HeadBucketCommand({ Bucket: 'nope-bucket' })))
  t.equal(missing.name, 'NotFound')
  const listMissing = await errorOf(client.send(new ListObjectsV2Command({ Bucket: 'nope-bucket' })))
  t.equal(listMissing.name, 'NoSuchBucket')
  await client.send(new PutObjectCommand({ Bucket: 'second-bucket', Key: 'k', Body: 'x' }))
  const notEmpty = await errorOf(client.send(new DeleteBucketCommand({ Bucket: 'second-bucket' })))
  t.equal(notEmpty.name, 'BucketNotEmpty')
  await client.send(new DeleteObjectsCommand({ Bucket: 'second-bucket', Delete: { Objects: [{ Key: 'k' }] } }))
  await client.send(new DeleteBucketCommand({ Bucket: 'second-bucket' }))
  const gone = await errorOf(client.send(new HeadBucketCommand({ Bucket: 'second-bucket' })))
  t.equal(gone.$metadata?.httpStatusCode, 404)
  const invalid = await errorOf(client.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))
  t.equal(invalid.name, 'InvalidBucketName')
})
