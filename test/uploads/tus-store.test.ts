import { GetObjectCommand, ListMultipartUploadsCommand, ListPartsCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import { Upload } from '@tus/utils'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { GatewayS3Store, partsHolding } from '../../src/routes/uploads.js'
import { generateText } from '../helpers/generate-text.js'
import { startTestStack } from '../helpers/stack.js'

const MiB = 1024 * 1024

t.test('partsHolding: the run of parts from 1 that adds up to exactly the bytes', async (t) => {
  const parts = [
    { PartNumber: 1, Size: 5 },
    { PartNumber: 2, Size: 5 },
    { PartNumber: 3, Size: 2 },
  ]
  t.equal(partsHolding(parts, 0), 0)
  t.equal(partsHolding([], 0), 0)
  t.equal(partsHolding(parts, 5), 1)
  t.equal(partsHolding(parts, 10), 2)
  t.equal(partsHolding(parts, 12), 3)
  t.equal(partsHolding(parts, 7), undefined, 'no run ends there')
  t.equal(partsHolding(parts, 13), undefined, 'more than the parts hold')
  t.equal(partsHolding([{ PartNumber: 1, Size: 5 }, { PartNumber: 3, Size: 5 }], 10), undefined, 'a gap in the numbers')
})

/** The store against the real local S3; a "late" part is one S3 takes after its PATCH gave up on it. */
async function storeOn(t: Test) {
  const it = await startTestStack(t)
  const store = new GatewayS3Store(
    {
      partSize: 5 * MiB,
      s3ClientConfig: { bucket: it.bucket, region: it.stack.region, endpoint: it.stack.s3.endpoint, credentials: it.stack.credentials, forcePathStyle: true },
    },
    it.config.storage.prefix,
  )
  const text = Buffer.from(generateText(12 * MiB + 70, { seed: 11 }))
  const id = `${it.config.storage.prefix}jobs/store-test/input`
  await store.create(new Upload({ id, size: text.length, offset: 0, metadata: {} }))
  const uploadId = async () => {
    const open = await it.s3.send(new ListMultipartUploadsCommand({ Bucket: it.bucket, Prefix: id }))
    return open.Uploads![0]!.UploadId!
  }
  /** Sends bytes as part `n` straight to S3, as a PATCH's request that S3 took late. */
  const late = async (n: number, bytes: Buffer) =>
    it.s3.send(new UploadPartCommand({ Bucket: it.bucket, Key: id, UploadId: await uploadId(), PartNumber: n, Body: bytes }))
  const stored = async () => Buffer.from(await (await it.s3.send(new GetObjectCommand({ Bucket: it.bucket, Key: id }))).Body!.transformToByteArray())
  return { it, store, text, id, uploadId, late, stored }
}

t.test('a part S3 takes late, after the offset was checked, is overwritten by the resumed bytes, not counted twice', async (t) => {
  const { it, store, text, id, late, stored } = await storeOn(t)
  t.equal(await store.write(Readable.from([text.subarray(0, 5 * MiB)]), id, 0), 5 * MiB)
  // tus checked the offset (5 MiB) for the resuming PATCH; then the part a failed PATCH sent lands.
  await late(2, text.subarray(5 * MiB, 10 * MiB))
  t.equal(await store.write(Readable.from([text.subarray(5 * MiB, 10 * MiB)]), id, 5 * MiB), 10 * MiB)
  t.equal((await store.getUpload(id)).offset, 10 * MiB, 'the offset counts those bytes once')
  t.equal(await store.write(Readable.from([text.subarray(10 * MiB)]), id, 10 * MiB), text.length, 'the next PATCH ends the upload')
  t.ok((await stored()).equals(text), 'the object is exactly the upload')
  t.equal(await it.openUploads(), 0)
})

t.test('completing uses only the parts that make up the upload, and refuses parts that cannot', async (t) => {
  const { it, store, text, id, uploadId, late, stored } = await storeOn(t)
  t.equal(await store.write(Readable.from([text.subarray(0, 5 * MiB)]), id, 0), 5 * MiB)
  // Parts that do not add up to the length: part 2 is a piece of the rest, not all of it.
  await late(2, text.subarray(5 * MiB, 6 * MiB))
  await t.rejects(store.ensureComplete(id), /do not make up its/, 'no input is assembled from the wrong parts')
  t.equal(await it.openUploads(), 1, 'the upload stays open to be resumed')
  // The whole rest under 2, and a stray part beyond it: completed from parts 1 and 2 only.
  await late(2, text.subarray(5 * MiB))
  await late(3, text.subarray(5 * MiB))
  const parts = await it.s3.send(new ListPartsCommand({ Bucket: it.bucket, Key: id, UploadId: await uploadId() }))
  t.equal(parts.Parts?.length, 3)
  await store.ensureComplete(id)
  t.ok((await stored()).equals(text), 'the object is exactly the upload')
  t.equal(await it.openUploads(), 0)
})
