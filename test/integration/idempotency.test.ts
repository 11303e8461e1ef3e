import t from 'tap'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { startTestStack } from '../helpers/stack.js'
import { eventually, openUpload } from '../helpers/upload-client.js'

const MiB = 1024 * 1024
const text = 'The council approved the budget. Forty electric buses arrive in spring. Night service starts in June.'

const post = (baseUrl: string, key: string, headers: Record<string, string>, body: string | Buffer, model = 'summarize') =>
  fetch(`${baseUrl}/models/${model}/jobs`, { method: 'POST', headers: { ...bearer(key), 'content-type': 'text/plain', ...headers }, body })

t.test('a retry with the same Idempotency-Key gets the same job, its body not stored again', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const first = await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'upload-7f3a' }, text)
  t.equal(first.status, 202)
  const job = (await first.json()) as { id: string }
  const inputs = async () => (await it.keys('sagegate/jobs/')).filter((k) => k.endsWith('/input'))

  const again = await post(it.baseUrl, KEYS.acmeBatch, { 'idempotency-key': 'upload-7f3a' }, text)
  t.equal(again.status, 200, 'another key of the same tenant replays')
  t.equal(again.headers.get('idempotent-replayed'), 'true')
  t.equal(again.headers.get('location'), `/jobs/${job.id}`)
  t.equal(((await again.json()) as { id: string }).id, job.id)
  t.equal((await inputs()).length, 1, 'one input in S3')
  t.equal((await it.keys('sagegate/idempotency/')).length, 1, 'one marker, under the tenant')
  t.notOk((await it.keys('sagegate/idempotency/')).some((k) => k.includes('upload-7f3a')), 'the key itself is not stored')

  // Another tenant's identical key is its own.
  const theirs = await post(it.baseUrl, KEYS.globex, { 'idempotency-key': 'upload-7f3a' }, text)
  t.equal(theirs.status, 202)
  t.not(((await theirs.json()) as { id: string }).id, job.id)
  t.equal((await inputs()).length, 2)
})

t.test('the same key for another model or size is 422 idempotency_key_reused; a bad key is 400', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  t.equal((await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'k1' }, text)).status, 202)
  const bigger = await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'k1' }, `${text} And one more sentence.`)
  t.equal(bigger.status, 422)
  t.match(await bigger.json(), { code: 'idempotency_key_reused' })
  const otherModel = await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'k1', 'content-type': 'video/mp4' }, Buffer.alloc(100), 'video-frames')
  t.equal(otherModel.status, 422)
  t.match(await otherModel.json(), { code: 'idempotency_key_reused', detail: /video-frames|summarize/ })
  for (const bad of ['', 'x'.repeat(256), 'has space', 'ünï']) {
    const res = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { ...bearer(KEYS.acmeWeb), 'content-type': 'text/plain', 'idempotency-key': bad }, body: text }).catch(() => undefined)
    if (res === undefined) continue // fetch itself refuses some header values
    t.equal(res.status, 400, JSON.stringify(bad.slice(0, 20)))
    t.match(await res.json(), { code: 'invalid_idempotency_key' })
  }
  t.equal((await it.keys('sagegate/jobs/')).filter((k) => k.endsWith('/input')).length, 1, 'refused requests stored nothing')
})

t.test('a duplicate while the first is still uploading is 409; a failed first frees the key', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const headers = { ...bearer(KEYS.acmeWeb), 'content-type': 'text/plain', 'idempotency-key': 'phone-1' }
  const first = openUpload(`${it.baseUrl}/models/summarize/jobs`, { ...headers, 'content-length': String(2 * MiB) })
  await first.write(1 * MiB)
  await eventually('the first upload has claimed the key', async () => (await it.keys('sagegate/idempotency/')).length === 1)
  const dup = await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'phone-1' }, Buffer.alloc(2 * MiB, 'a'))
  t.equal(dup.status, 409)
  t.match(await dup.json(), { code: 'idempotency_key_in_use' })
  t.ok(Number(dup.headers.get('retry-after')) > 0)
  // The first one fails (its client goes away): the key is free for the retry.
  first.destroy()
  await eventually('the marker is removed', async () => (await it.keys('sagegate/idempotency/')).length === 0)
  const retry = await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'phone-1' }, text)
  t.equal(retry.status, 202)
  await eventually('no multipart upload left', async () => (await it.openUploads()) === 0)
  t.equal((await it.keys('sagegate/jobs/')).filter((k) => k.endsWith('/input')).length, 1)
})

t.test('a rejected first request (415) leaves the key free and nothing behind', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const bad = await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'k2', 'content-type': 'image/png' }, text)
  t.equal(bad.status, 415)
  t.same(await it.keys('sagegate/'), [])
  t.equal((await post(it.baseUrl, KEYS.acmeWeb, { 'idempotency-key': 'k2' }, text)).status, 202)
})
