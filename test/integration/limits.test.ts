import t from 'tap'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { startTestStack } from '../helpers/stack.js'
import { eventually, openUpload } from '../helpers/upload-client.js'

const MiB = 1024 * 1024
const echo = (baseUrl: string, key: string) =>
  fetch(`${baseUrl}/models/echo/predict`, { method: 'POST', headers: { ...bearer(key), 'content-type': 'text/plain' }, body: 'ping' })

t.test("past a key's requests per minute: 429 rate_limited with Retry-After and RateLimit-* headers; other keys unaffected", async (t) => {
  const it = await startTestStack(t, { configure: withKeys({ acmeWeb: { requestsPerMinute: 5 } }) })
  const first = await echo(it.baseUrl, KEYS.acmeWeb)
  t.equal(first.status, 200)
  t.equal(first.headers.get('ratelimit-limit'), '5')
  t.equal(first.headers.get('ratelimit-remaining'), '4')
  t.ok(Number(first.headers.get('ratelimit-reset')) > 0, 'seconds until the window resets')

  // A flood from one key, while the other tenant calls the same model.
  const flood = await Promise.all(Array.from({ length: 40 }, () => echo(it.baseUrl, KEYS.acmeWeb)))
  const other = await Promise.all(Array.from({ length: 10 }, () => echo(it.baseUrl, KEYS.globex)))
  const statuses = flood.map((r) => r.status)
  t.equal(statuses.filter((s) => s === 200).length, 4, 'four more fit the minute')
  t.equal(statuses.filter((s) => s === 429).length, 36)
  t.same(
    other.map((r) => r.status),
    Array(10).fill(200),
    'the other key is not limited by the flood',
  )
  t.notOk(other[0]!.headers.has('ratelimit-limit'), 'a key without a limit gets no RateLimit headers')
  const refused = flood.find((r) => r.status === 429)!
  const body = (await refused.json()) as Record<string, unknown>
  t.match(body, { code: 'rate_limited', requestsPerMinute: 5 })
  t.match(refused.headers.get('content-type'), /^application\/problem\+json/)
  t.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After in seconds')
  t.equal(refused.headers.get('ratelimit-remaining'), '0')
  // Job routes count too; public routes do not.
  t.equal((await fetch(`${it.baseUrl}/jobs/00000000000000000000000000`, { headers: bearer(KEYS.acmeWeb) })).status, 429)
  t.equal((await fetch(`${it.baseUrl}/healthz`, { headers: bearer(KEYS.acmeWeb) })).status, 200)
  t.match(await (await fetch(`${it.baseUrl}/metrics`)).text(), /sagegate_rate_limited_total\{key="acme-web"\} 37/)
})

t.test("past a key's concurrent uploads: 429 too_many_uploads before any byte is read; other keys still upload", async (t) => {
  const it = await startTestStack(t, { configure: withKeys({ acmeWeb: { maxConcurrentUploads: 1 } }) })
  const first = openUpload(`${it.baseUrl}/models/summarize/jobs`, { ...bearer(KEYS.acmeWeb), 'content-type': 'text/plain' })
  await first.write(1 * MiB)
  await eventually('the first upload holds its place', async () => /sagegate_uploads_in_flight 1/.test(await (await fetch(`${it.baseUrl}/metrics`)).text()))

  const second = openUpload(`${it.baseUrl}/models/summarize/jobs`, { ...bearer(KEYS.acmeWeb), 'content-type': 'text/plain', expect: '100-continue' })
  const refused = await second.answer
  t.equal(refused.status, 429)
  t.match(refused.body, { code: 'too_many_uploads', maxConcurrentUploads: 1 })
  t.ok(Number(refused.headers['retry-after']) > 0)

  const other = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { ...bearer(KEYS.globex), 'content-type': 'text/plain' }, body: 'Another tenant. Its upload goes through.' })
  t.equal(other.status, 202, 'another key is not held back')

  first.end()
  t.equal((await first.answer).status, 202)
  // The place is free again.
  const again = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { ...bearer(KEYS.acmeWeb), 'content-type': 'text/plain' }, body: 'Once the first upload ended. A second one is fine.' })
  t.equal(again.status, 202)
  t.equal(await it.openUploads(), 0)
})

t.test('anonymous clients can be limited by address', async (t) => {
  const it = await startTestStack(t, {
    configure: (c) => ({ ...c, auth: { ...c.auth, anonymousRequestsPerMinute: 2 } }),
  })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${it.baseUrl}/models/echo/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })).status)
  t.same(statuses, [200, 200, 429])
})
