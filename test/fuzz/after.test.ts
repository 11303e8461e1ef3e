import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { checkAfter, listAll } from './after.js'
import { startFuzzStack } from './harness.js'

t.test('the after-run checks see objects and uploads that no accepted job owns', async (t) => {
  const it = await startFuzzStack(t)
  const before = new Set(await listAll(it))
  const { models } = (await (await fetch(`${it.baseUrl}/models`)).json()) as { models: Array<{ name: string; mode: string; contentTypes: string[] }> }
  const accepted = new Set<string>()
  const clean = await checkAfter(it, { before, accepted, models, authHeaders: [], settleMs: 200 })
  t.same(clean, [], 'nothing to report on a fresh stack')
  await it.s3.send(new PutObjectCommand({ Bucket: it.bucket, Key: 'sagegate/jobs/AAAAAAAAAAAAAAAAAAAAAA/input', Body: 'x' }))
  await it.s3.send(new PutObjectCommand({ Bucket: it.bucket, Key: 'sagegate/jobs/BBBBBBBBBBBBBBBBBBBBBB/input', Body: 'x' }))
  await it.s3.send(new CreateMultipartUploadCommand({ Bucket: it.bucket, Key: 'sagegate/jobs/CCCCCCCCCCCCCCCCCCCCCC/input' }))
  accepted.add('AAAAAAAAAAAAAAAAAAAAAA')
  const found = await checkAfter(it, { before, accepted, models, authHeaders: [], settleMs: 200 })
  t.same(found, ['1 multipart uploads left open', 'objects left in S3 that belong to no accepted job: sagegate/jobs/BBBBBBBBBBBBBBBBBBBBBB/input'])
  t.equal(accepted.size, 3, 'the control jobs made by the checks count as accepted')
})
