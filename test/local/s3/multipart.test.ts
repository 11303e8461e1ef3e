import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { BUCKET, dataFiles, errorOf, listFiles, startS3 } from './helpers.js'

const MiB = 1024 * 1024

function multipartEtag(parts: Buffer[]): string {
  const md5 = createHash('md5')
  for (const p of parts) md5.update(createHash('md5').update(p).digest())
  return `"${md5.digest('hex')}-${parts.length}"`
}

t.test('lib-storage Upload of 24 MiB in 5 MiB parts: content, multipart ETag, ranges across parts', async (t) => {
  const { client, dataDir } = await startS3(t)
  const body = randomBytes(24 * MiB)
  // A stream (not a Buffer) so lib-storage really cuts it into parts as it reads.
  const stream = Readable.from((function* () {
    for (let o = 0; o < body.length; o += 1 * MiB) yield body.subarray(o, o + 1 * MiB)
  })())
  const upload = new Upload({
    client,
    params: { Bucket: BUCKET, Key: 'big/video.mp4', Body: stream, ContentType: 'video/mp4' },
    partSize: 5 * MiB,
    queueSize: 2,
  })
  const result = await upload.done()
  const parts = [0, 1, 2, 3, 4].map((i) => body.subarray(i * 5 * MiB, Math.min((i + 1) * 5 * MiB, body.length)))
  t.equal(result.ETag, multipartEtag(parts))

  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/video.mp4' }))
  t.equal(head.ContentLength, body.length)
  t.equal(head.ContentType, 'video/mp4')
  t.equal(head.ETag, multipartEtag(parts))

  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/video.mp4' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), 'whole body intact')

  const from = 5 * MiB - 100
  const to = 10 * MiB + 100
  const ranged = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/video.mp4', Range: `bytes=${from}-${to}` }))
  t.equal(ranged.ContentRange, `bytes ${from}-${to}/${body.length}`)
  t.ok(Buffer.from(await ranged.Body!.transformToByteArray()).equals(body.subarray(from, to + 1)), 'range spanning three parts')

  const part2 = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/video.mp4', PartNumber: 2 }))
  t.equal(part2.PartsCount, 5)
  t.ok(Buffer.from(await part2.Body!.transformToByteArray()).equals(parts[1]!))

  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))
  t.equal(uploads.Uploads, undefined, 'no uploads left in progress')
  t.equal((await dataFiles(dataDir)).filter((f) => f.includes('/data/')).length, 5, 'the parts became the object files')
  t.same((await listFiles(dataDir)).filter((f) => f.includes('/uploads/') || f.startsWith('tmp/')), [])
})

async function uploadParts(t: Test, sizes: number[]) {
  const { client, dataDir } = await startS3(t)
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp' }))
  const bodies = sizes.map((s, i) => Buffer.alloc(s, i + 1))
  const etags: string[] = []
  for (const [i, Body] of bodies.entries()) {
    const r = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId, PartNumber: i + 1, Body }))
    etags.push(r.ETag ?? '')
  }
  return { client, dataDir, UploadId: UploadId!, bodies, etags }
}

t.test('CompleteMultipartUpload validates the part list', async (t) => {
  const { client, UploadId, etags } = await uploadParts(t, [5 * MiB, 1000])
  const complete = (Parts: { PartNumber: number; ETag: string }[]) =>
    client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', UploadId, MultipartUpload: { Parts } }))
  const wrongEtag = await errorOf(complete([{ PartNumber: 1, ETag: etags[0]! }, { PartNumber: 2, ETag: '"0123456789abcdef0123456789abcdef"' }]))
  t.equal(wrongEtag.name, 'InvalidPart')
  const missing = await errorOf(complete([{ PartNumber: 1, ETag: etags[0]! }, { PartNumber: 3, ETag: etags[1]! }]))
  t.equal(missing.name, 'InvalidPart')
  const order = await errorOf(complete([{ PartNumber: 2, ETag: etags[1]! }, { PartNumber: 1, ETag: etags[0]! }]))
  t.equal(order.name, 'InvalidPartOrder')
  const small = await errorOf(complete([{ PartNumber: 2, ETag: etags[1]! }, { PartNumber: 3, ETag: etags[1]! }]))
  t.equal(small.name, 'InvalidPart')
  const done = await complete([{ PartNumber: 1, ETag: etags[0]! }, { PartNumber: 2, ETag: etags[1]! }])
  t.match(done.ETag, /^"[0-9a-f]{32}-2"$/)
  const again = await errorOf(complete([{ PartNumber: 1, ETag: etags[0]! }]))
  t.equal(again.name, 'NoSuchUpload', 'a completed upload is gone')
})

t.test('non-last parts under 5 MiB are EntityTooSmall', async (t) => {
  const { client, UploadId, etags } = await uploadParts(t, [1000, 1000])
  const err = await errorOf(
    client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET, Key: 'mp', UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    ),
  )
  t.equal(err.name, 'EntityTooSmall')
})

t.test('completing with a subset of parts discards the others', async (t) => {
  const { client, dataDir, UploadId, etags, bodies } = await uploadParts(t, [5 * MiB, 10, 20])
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'mp', UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etags[0]! }, { PartNumber: 3, ETag: etags[2]! }] },
    }),
  )
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mp' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([bodies[0]!, bodies[2]!])))
  t.equal((await dataFiles(dataDir)).length, 2)
})

t.test('CopyObject of a multipart object gets a fresh MD5 ETag and no parts', async (t) => {
  const { client, UploadId, etags, bodies } = await uploadParts(t, [5 * MiB, 10])
  const done = await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'mp', UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  )
  t.equal(done.ETag, multipartEtag(bodies))
  const copy = await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'mp-copy', CopySource: `${BUCKET}/mp` }))
  const md5 = `"${createHash('md5').update(Buffer.concat(bodies)).digest('hex')}"`
  t.equal(copy.CopyObjectResult?.ETag, md5)
  const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mp-copy', PartNumber: 1 }))
  t.equal(head.ETag, md5)
  t.equal(head.PartsCount, undefined)
  t.equal(head.ContentLength, 5 * MiB + 10, 'part 1 of a single-part object is the whole object')
})

t.test('ListParts, ListMultipartUploads, AbortMultipartUpload and NoSuchUpload', async (t) => {
  const { client, dataDir, UploadId, etags } = await uploadParts(t, [100, 200])
  const parts = await client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'mp', UploadId }))
  t.same(parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]), [[1, 100, etags[0]], [2, 200, etags[1]]])
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))
  t.same(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [['mp', UploadId]])
  const aborted = await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', UploadId }))
  t.equal(aborted.$metadata.httpStatusCode, 204)
  t.same(await dataFiles(dataDir), [], 'no part files left')
  const unknown = await errorOf(client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId, PartNumber: 3, Body: 'x' })))
  t.equal(unknown.name, 'NoSuchUpload')
  t.equal(unknown.$metadata?.httpStatusCode, 404)
  const abortAgain = await errorOf(client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', UploadId })))
  t.equal(abortAgain.name, 'NoSuchUpload')
})

t.test('UploadPartCopy copies a byte range of an object into a part', async (t) => {
  const { client } = await startS3(t)
  const source = randomBytes(6 * MiB)
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'source', Body: source }))
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'dest' }))
  const p1 = await client.send(
    new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'dest', UploadId, PartNumber: 1, CopySource: `${BUCKET}/source`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }),
  )
  const p2 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'dest', UploadId, PartNumber: 2, Body: 'tail' }))
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET, Key: 'dest', UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult?.ETag }, { PartNumber: 2, ETag: p2.ETag }] },
    }),
  )
  const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dest' }))
  t.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([source.subarray(0, 5 * MiB), Buffer.from('tail')])))
})
