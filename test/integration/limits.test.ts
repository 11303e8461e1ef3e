import t from 'tap'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { startTestStack } from '../helpers/stack.js'
import { eventually, openUpload } from '../helpers/upload-client.js'

const MiB = 1024 * 1024
const echo = (baseUrl: string, key: string) =>
  fetch(`${baseUrl}/models/echo/predict`, { method: 'POST', headers: { ...bearer(key), 'content-type': 'text/plain' }, body: 'ping' })

t.test("past a key's requests per minute: 429 rate_limited with Retry-After and RateLimit-* headers; other keys unaffected", async (t) => {
  const it = await startTestStack(t, { configure: withKeys({ acmeWeb: { requestsPerMinute: 5 }, globex: { requestsPerMinute: 100 } }) })
  const first = await echo(it.baseUrl, KEYS.acmeWeb)
  t.equal(first.status, 200)
  t.equal(first.headers.get('ratelimit-limit'), '5')
  t.equal(first.headers.get('ratelimit-remaining'), '4')
  t.ok(Number(first.headers.get('ratelimit-reset')) > 0, 'seconds until the window resets')
  await first.text()

  // acme-web floods (CONCURRENCY requests at a time, at least FLOOD in all) while globex calls the
  // same model. No timing: the overlap is built from the order of events. globex starts once the
  // flood has had its first 429 and waits for another flood answer before each next call; the flood
  // goes on until globex is done.
  const FLOOD = 100
  const CONCURRENCY = 16
  const OTHER = 10
  const events: string[] = []
  let started = 0
  let floodInFlight = 0
  let otherRunning = true
  let floodOver = false
  let refused: Response | undefined
  let onFloodAnswer: () => void = () => {}
  let firstRefusal!: () => void
  const refusedOnce = new Promise<void>((resolve) => (firstRefusal = resolve))
  const floodStatuses: number[] = []
  const worker = async () => {
    // Past FLOOD requests without a 429 the flood stops (and the checks below fail) rather than hang.
    while (started < FLOOD || (otherRunning && refused !== undefined)) {
      started++
      floodInFlight++
      const res = await echo(it.baseUrl, KEYS.acmeWeb)
      if (res.status === 429 && refused === undefined) refused = res
      else await res.arrayBuffer()
      floodInFlight--
      floodStatuses.push(res.status)
      events.push(`A${res.status}`)
      if (res === refused) firstRefusal()
      onFloodAnswer()
    }
  }
  // The flood's next answer (at once if the flood is over: the overlap checks then fail).
  const nextFloodAnswer = () =>
    new Promise<void>((resolve) => {
      onFloodAnswer = resolve
      if (floodOver) resolve()
    })
  const flood = Promise.all(Array.from({ length: CONCURRENCY }, worker)).then(() => {
    floodOver = true
    firstRefusal()
    onFloodAnswer()
  })
  const other: Array<{ status: number; remaining: string | null; limit: string | null; floodInFlight: number }> = []
  const otherCalls = (async () => {
    await refusedOnce
    for (let i = 0; i < OTHER; i++) {
      if (i > 0) await nextFloodAnswer()
      events.push('B>')
      const atStart = floodInFlight
      const res = await echo(it.baseUrl, KEYS.globex)
      await res.arrayBuffer()
      events.push(`B${res.status}`)
      other.push({ status: res.status, remaining: res.headers.get('ratelimit-remaining'), limit: res.headers.get('ratelimit-limit'), floodInFlight: Math.min(atStart, floodInFlight) })
    }
  })().finally(() => (otherRunning = false))
  await Promise.all([flood, otherCalls])

  t.ok(floodStatuses.length >= FLOOD, `${floodStatuses.length} flood requests`)
  t.equal(floodStatuses.filter((s) => s === 200).length, 4, 'four more fit the minute')
  t.equal(floodStatuses.filter((s) => s === 429).length, floodStatuses.length - 4, 'every other one refused')
  // The other key during the flood: every call answered, each counted against its own limit only.
  t.same(
    other.map((o) => o.status),
    Array(OTHER).fill(200),
    'the other key is not limited by the flood',
  )
  t.same(
    other.map((o) => o.remaining),
    Array.from({ length: OTHER }, (_, i) => String(100 - 1 - i)),
    'its RateLimit-Remaining counts its own calls only',
  )
  t.ok(other.every((o) => o.limit === '100'))
  // The overlap held: globex began after the flood's first 429, flood requests were in flight at the
  // start and end of each of its calls, flood answers came between its calls, and the flood ended after.
  const firstB = events.indexOf('B>')
  const lastB = events.lastIndexOf('B200')
  t.ok(events.indexOf('A429') >= 0 && events.indexOf('A429') < firstB, 'the other key started after the first 429')
  t.ok(other.every((o) => o.floodInFlight > 0), 'flood requests in flight around each of its calls')
  const between = events.slice(firstB, lastB).filter((e) => e.startsWith('A'))
  t.ok(between.length >= OTHER - 1, `flood requests answered in between its calls (${between.length})`)
  t.ok(events.slice(lastB).filter((e) => e.startsWith('A')).length > 0, 'the flood went on after its last call')

  t.ok(refused, 'a refused flood request')
  const body = (await refused!.json()) as Record<string, unknown>
  t.match(body, { code: 'rate_limited', requestsPerMinute: 5 })
  t.match(refused!.headers.get('content-type'), /^application\/problem\+json/)
  t.ok(Number(refused!.headers.get('retry-after')) >= 1, 'Retry-After in seconds')
  t.equal(refused!.headers.get('ratelimit-remaining'), '0')
  // A key without a limit gets no RateLimit headers.
  const unlimited = await fetch(`${it.baseUrl}/jobs/00000000000000000000000000`, { headers: bearer(KEYS.acmeBatch) })
  await unlimited.arrayBuffer()
  t.notOk(unlimited.headers.has('ratelimit-limit'), 'a key without a limit gets no RateLimit headers')
  // Job routes count too; public routes do not.
  t.equal((await fetch(`${it.baseUrl}/jobs/00000000000000000000000000`, { headers: bearer(KEYS.acmeWeb) })).status, 429)
  t.equal((await fetch(`${it.baseUrl}/healthz`, { headers: bearer(KEYS.acmeWeb) })).status, 200)
  t.match(await (await fetch(`${it.baseUrl}/metrics`)).text(), new RegExp(`sagegate_rate_limited_total\\{key="acme-web"\\} ${floodStatuses.length - 4 + 1}\\b`))
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

t.test('anonymous clients: auth.anonymousMaxConcurrentUploads per client address, 429 too_many_uploads', async (t) => {
  // Behind a proxy (server.trustProxy) the client's address is X-Forwarded-For's: a second address without a second machine.
  const it = await startTestStack(t, {
    configure: (c) => ({ ...c, server: { ...c.server, trustProxy: true }, auth: { ...c.auth, anonymousMaxConcurrentUploads: 1 } }),
  })
  const jobs = `${it.baseUrl}/models/summarize/jobs`
  const first = openUpload(jobs, { 'content-type': 'text/plain' })
  await first.write(1 * MiB)
  await eventually('the first upload holds its place', async () => /sagegate_uploads_in_flight 1/.test(await (await fetch(`${it.baseUrl}/metrics`)).text()))

  const second = openUpload(jobs, { 'content-type': 'text/plain', expect: '100-continue' })
  const refused = await second.answer
  t.equal(refused.status, 429, 'the same address: refused')
  t.match(refused.body, { code: 'too_many_uploads', maxConcurrentUploads: 1 })
  t.ok(Number(refused.headers['retry-after']) > 0)

  const elsewhere = await fetch(jobs, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-forwarded-for': '203.0.113.7' }, body: 'Another address. Its upload goes through.' })
  t.equal(elsewhere.status, 202, 'another address is not held back')

  first.end()
  t.equal((await first.answer).status, 202)
  const again = await fetch(jobs, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'Once the first upload ended. A second one is fine.' })
  t.equal(again.status, 202, 'the place is free again')
  t.equal(await it.openUploads(), 0)
})
