// Direct-to-S3 multipart uploads: the requests @uppy/aws-s3 makes in its Companion mode
// (companionEndpoint = /models/{name}/uploads), with real presigned URLs against the local S3.
import { GetObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { generateText } from '../helpers/generate-text.js'
import { startTestStack, waitForJob, type TestStack } from '../helpers/stack.js'

const MiB = 1024 * 1024
const auth = bearer(KEYS.acmeWeb)

/** Companion's S3 multipart API as Uppy calls it (CompanionS3.ts), with the key added. */
function companion(it: TestStack, model: string, headers: Record<string, string> = auth) {
  const endpoint = `${it.baseUrl}/models/${model}/uploads/s3`
  const j = { 'content-type': 'application/json', ...headers }
  return {
    create: (body: Record<string, unknown>) => fetch(`${endpoint}/multipart`, { method: 'POST', headers: j, body: JSON.stringify(body) }),
    sign: (uploadId: string, key: string, part: number) => fetch(`${endpoint}/multipart/${encodeURIComponent(uploadId)}/${part}?${new URLSearchParams({ key })}`, { headers }),
    list: (uploadId: string, key: string) => fetch(`${endpoint}/multipart/${encodeURIComponent(uploadId)}?${new URLSearchParams({ key })}`, { headers }),
    complete: (uploadId: string, key: string, parts: Array<{ PartNumber: number; ETag: string }>) =>
      fetch(`${endpoint}/multipart/${encodeURIComponent(uploadId)}/complete?${new URLSearchParams({ key })}`, { method: 'POST', headers: j, body: JSON.stringify({ parts }) }),
    abort: (uploadId: string, key: string) => fetch(`${endpoint}/multipart/${encodeURIComponent(uploadId)}?${new URLSearchParams({ key })}`, { method: 'DELETE', headers }),
  }
}

/** Signs and PUTs each part straight to S3, as the browser does; returns what complete needs. */
async function putParts(c: ReturnType<typeof companion>, uploadId: string, key: string, body: Buffer, partSize = 5 * MiB) {
  const parts: Array<{ PartNumber: number; ETag: string }> = []
  for (let n = 1, at = 0; at < body.length; n++, at += partSize) {
    const signed = await c.sign(uploadId, key, n)
    if (signed.status !== 200) throw new Error(`sign ${n}: ${signed.status} ${await signed.text()}`)
    const { url } = (await signed.json()) as { url: string }
    const put = await fetch(url, { method: 'PUT', body: body.subarray(at, at + partSize) })
    if (put.status !== 200) throw new Error(`PUT part ${n}: ${put.status} ${await put.text()}`)
    parts.push({ PartNumber: n, ETag: put.headers.get('etag')! })
  }
  return parts
}

t.test('create, sign, PUT to S3, list, complete: the job starts and completes; nothing of the upload is left', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const text = Buffer.from(generateText(8 * MiB, { seed: 21 }))
  const c = companion(it, 'summarize')
  const created = await c.create({ filename: 'article.txt', type: 'text/plain', metadata: { name: 'article.txt', type: 'text/plain' } })
  t.equal(created.status, 200)
  const { uploadId, key } = (await created.json()) as { uploadId: string; key: string }
  t.match(key, /^[A-Za-z0-9_-]{22}$/, 'the key is the job id, not an S3 key')
  const signed = (await (await c.sign(uploadId, key, 1)).json()) as { url: string }
  t.notMatch(signed.url, /acme|tenant/, 'the signed URL names nothing of the tenant')
  t.match(signed.url, /X-Amz-Signature=/)
  const parts = await putParts(c, uploadId, key, text)
  t.equal(parts.length, 2)
  const listed = (await (await c.list(uploadId, key)).json()) as Array<{ PartNumber: number; ETag: string; Size: number }>
  t.same(listed.map((p) => [p.PartNumber, p.ETag]), parts.map((p) => [p.PartNumber, p.ETag]), 'the parts S3 holds, to resume')
  const done = await c.complete(uploadId, key, parts)
  t.equal(done.status, 200)
  t.equal(done.headers.get('job-location'), `/jobs/${key}`)
  const answer = (await done.json()) as { location: string; key: string; job: { id: string; input: { sizeBytes: number; filename?: string } } }
  t.match(answer, { location: `/jobs/${key}`, key, job: { id: key, input: { sizeBytes: text.length, filename: 'article.txt' } } })
  const job = await waitForJob(it.baseUrl, key, 60_000, auth)
  t.equal(job.status, 'completed')
  const stored = await it.s3.send(new GetObjectCommand({ Bucket: it.bucket, Key: `${it.config.storage.prefix}jobs/${key}/input` }))
  t.ok(Buffer.from(await stored.Body!.transformToByteArray()).equals(text), 'the input is the bytes sent')
  t.equal(await it.openUploads(), 0)
  t.notOk((await it.keys(`${it.config.storage.prefix}jobs/${key}/`)).some((k) => k.endsWith('upload.json')), 'the upload record is gone once the job starts')
})

t.test('refusals: before any byte where possible, and a completed upload that fails its checks is removed', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const c = companion(it, 'summarize')
  t.equal((await c.create({ type: 'text/plain', size: 11 * MiB })).status, 413, 'a declared size over maxBytes')
  t.equal((await c.create({ type: 'text/plain', metadata: { size: String(11 * MiB) } })).status, 413, "Uppy's metadata.size too")
  t.equal((await c.create({ type: 'image/png' })).status, 415)
  t.equal((await companion(it, 'sentiment').create({ type: 'text/plain' })).status, 409, 'a real-time model')
  t.equal((await companion(it, 'video-frames', bearer(KEYS.acmeBatch)).create({ type: 'video/mp4' })).status, 403)
  t.equal((await companion(it, 'summarize', {}).create({ type: 'text/plain' })).status, 401)
  t.equal((await c.create({ filename: 'notes.txt' })).status, 200, "no type: the file name's extension decides")

  const { uploadId, key } = (await (await c.create({ type: 'text/plain' })).json()) as { uploadId: string; key: string }
  const other = companion(it, 'summarize', bearer(KEYS.globex))
  t.equal((await other.sign(uploadId, key, 1)).status, 404, "another tenant cannot sign this upload's parts")
  t.equal((await other.abort(uploadId, key)).status, 404)
  t.equal((await c.sign('forged-upload-id', key, 1)).status, 404, 'nor can a forged upload id')
  t.equal((await c.sign(uploadId, key, 3)).status, 413, 'no part number beyond what maxBytes needs')
  t.equal((await c.abort(uploadId, key)).status, 204)

  const video = companion(it, 'video-frames')
  const v = (await (await video.create({ type: 'video/mp4' })).json()) as { uploadId: string; key: string }
  const parts = await putParts(video, v.uploadId, v.key, Buffer.alloc(64 * 1024, 'not a video '))
  const refused = await video.complete(v.uploadId, v.key, parts)
  t.equal(refused.status, 415)
  t.match(await refused.json(), { code: 'content_mismatch' })
  t.equal((await fetch(`${it.baseUrl}/jobs/${v.key}`, { headers: auth })).status, 404, 'no job')

  // Left: the upload created from a file name only (abandoned; the sweep below removes it).
  t.equal(await it.openUploads(), 1)
  t.equal(await it.app.removeExpiredUploads(Date.now() + 25 * 3600 * 1000), 1, 'an abandoned direct upload expires like a resumable one')
  t.equal(await it.openUploads(), 0)
  t.same(await it.keys(`${it.config.storage.prefix}jobs/`), [], 'nothing is left')
})
