import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import pino from 'pino'
import t from 'tap'
import type { JobView } from '../../src/services/job-record.js'
import { createWebhooks, type WebhooksDeps } from '../../src/services/webhooks.js'
import { jobView, SECRET, silent, startReceiver, startStore, waitFor, webhookConfig } from './webhooks-fixtures.js'

// One local S3 for the file; each test has its own key prefix.
const s3 = await startStore(t)

function setup(prefix: string, over: Partial<WebhooksDeps> = {}) {
  const jobs = new Map<string, JobView>()
  const w = createWebhooks({
    store: s3.store,
    storage: { bucket: s3.bucket, prefix },
    config: webhookConfig(),
    maxPollIntervalMs: 200,
    logger: silent,
    checkJob: async (id) => jobs.get(id),
    retryDelaysMs: [300],
    random: () => 0.5,
    ...over,
  })
  return { w, jobs }
}

const docKey = (prefix: string, id: string) => `${prefix}jobs/${id}/webhook.json`
const markerKey = (prefix: string, id: string) => `${prefix}webhooks/pending/${id}`
async function readDoc(prefix: string, id: string): Promise<Record<string, any> | undefined> {
  const got = await s3.store.readSmall({ bucket: s3.bucket, key: docKey(prefix, id) }, 16_384)
  return got && (JSON.parse(got.text) as Record<string, any>)
}

t.test('a failed attempt is retried with the same webhook-id and body, each validly signed; then doc and marker are gone', async (t) => {
  const prefix = `${randomUUID()}/`
  const receiver = await startReceiver(t, (_r, i) => (i === 0 ? 500 : 200))
  const { w, jobs } = setup(prefix)
  t.teardown(() => w.stop())
  const id = 'job-retry'
  await w.register(id, receiver.url)
  t.same((await s3.keys(prefix)).sort(), [docKey(prefix, id), markerKey(prefix, id)].sort())
  jobs.set(id, jobView(id))
  w.jobEnded(jobView(id))
  await waitFor(async () => (await readDoc(prefix, id))?.attempts === 1, 'the first attempt recorded')
  t.equal((await readDoc(prefix, id))?.state, 'retrying')
  w.start()
  await waitFor(async () => (await s3.keys(prefix)).length === 0, 'doc and marker removed')
  t.equal(receiver.received.length, 2)
  const [first, second] = receiver.received
  t.equal(first!.headers['webhook-id'], `msg_${id}`)
  t.equal(second!.headers['webhook-id'], first!.headers['webhook-id'], 'the same id on the retry')
  t.equal(second!.body, first!.body, 'the same body on the retry')
  t.equal(first!.headers['content-type'], 'application/json')
  const hook = new Webhook(SECRET)
  for (const r of receiver.received) {
    const payload = hook.verify(r.body, r.headers as Record<string, string>) as Record<string, unknown>
    t.equal(payload.type, 'job.completed')
    t.same(payload.data, jobView(id))
    t.match(payload.timestamp, /^\d{4}-\d\d-\d\dT/)
  }
  t.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(first!.body, first!.headers as Record<string, string>), 'another secret does not verify')
})

t.test('a restart mid-retry: another replica carries the delivery on from S3', async (t) => {
  const prefix = `${randomUUID()}/`
  const receiver = await startReceiver(t, (_r, i) => (i === 0 ? 503 : 204))
  // The first replica's clock stands still, so it never finds its own retry due before it stops.
  const frozen = Date.now()
  const a = setup(prefix, { replicaId: 'a', clock: () => frozen })
  const id = 'job-restart'
  await a.w.register(id, receiver.url)
  a.jobs.set(id, jobView(id, 'failed'))
  a.w.start()
  a.w.jobEnded(jobView(id, 'failed'))
  await waitFor(async () => (await readDoc(prefix, id))?.attempts === 1, 'the first attempt recorded')
  await a.w.stop()
  t.equal(receiver.received.length, 1)
  t.notOk((await readDoc(prefix, id))?.lease, 'no lease left after the failed attempt')

  const b = setup(prefix, { replicaId: 'b' })
  b.jobs.set(id, jobView(id, 'failed'))
  t.teardown(() => b.w.stop())
  b.w.start()
  await waitFor(async () => (await s3.keys(prefix)).length === 0, 'delivered by the new replica')
  t.equal(receiver.received.length, 2)
  t.equal(receiver.received[1]!.headers['webhook-id'], `msg_${id}`)
  t.equal((JSON.parse(receiver.received[1]!.body) as { type: string }).type, 'job.failed')
})

t.test('two replicas sweeping the same bucket make each attempt once', async (t) => {
  const prefix = `${randomUUID()}/`
  const seen = new Map<string, number>()
  // Each job's first request fails, its second succeeds: two requests per job, no more.
  const receiver = await startReceiver(t, (r) => {
    const n = (seen.get(String(r.headers['webhook-id'])) ?? 0) + 1
    seen.set(String(r.headers['webhook-id']), n)
    return n === 1 ? 500 : 200
  })
  const a = setup(prefix, { replicaId: 'a' })
  const b = setup(prefix, { replicaId: 'b' })
  const ids = Array.from({ length: 6 }, (_, i) => `job-${i}`)
  for (const id of ids) {
    await a.w.register(id, receiver.url)
    a.jobs.set(id, jobView(id))
    b.jobs.set(id, jobView(id))
  }
  a.w.start()
  b.w.start()
  // Both replicas also hear of every job's end at once (an SNS notification, a waiting client).
  for (const id of ids) {
    a.w.jobEnded(jobView(id))
    b.w.jobEnded(jobView(id))
  }
  t.teardown(() => Promise.all([a.w.stop(), b.w.stop()]))
  await waitFor(async () => (await s3.keys(prefix)).length === 0, 'every delivery done')
  // A few more sweeps by both: nothing is sent again.
  await new Promise((r) => setTimeout(r, 500))
  t.same(
    ids.map((id) => seen.get(`msg_${id}`)),
    ids.map(() => 2),
  )
  t.equal(receiver.received.length, 12)
})

t.test('a running job is looked at again until it ends, then delivered', async (t) => {
  const prefix = `${randomUUID()}/`
  const receiver = await startReceiver(t)
  const { w, jobs } = setup(prefix)
  t.teardown(() => w.stop())
  const id = 'job-running'
  await w.register(id, receiver.url)
  jobs.set(id, jobView(id, 'in_progress'))
  w.start()
  await waitFor(async () => ((await readDoc(prefix, id))?.checkIntervalMs ?? 0) >= 200, 'a later look scheduled')
  t.equal(receiver.received.length, 0, 'nothing sent while the job runs')
  t.equal((await readDoc(prefix, id))?.state, 'waiting')
  jobs.set(id, jobView(id, 'expired'))
  await waitFor(() => receiver.received.length === 1, 'delivered once the job ended')
  t.equal((JSON.parse(receiver.received[0]!.body) as { type: string }).type, 'job.expired')
  await waitFor(async () => (await s3.keys(prefix)).length === 0, 'doc and marker removed')
})

t.test('retries run out: the delivery is marked failed, counted, its marker removed and its document kept', async (t) => {
  const prefix = `${randomUUID()}/`
  const receiver = await startReceiver(t, () => 500)
  let failed = 0
  const outcomes: string[] = []
  let skewMs = 0
  const { w, jobs } = setup(prefix, {
    clock: () => Date.now() + skewMs,
    config: webhookConfig({ retryForMs: 60_000 }),
    events: { failed: () => failed++, attempt: (o) => outcomes.push(o) },
  })
  t.teardown(() => w.stop())
  const id = 'job-gives-up'
  await w.register(id, receiver.url)
  jobs.set(id, jobView(id))
  w.start()
  await waitFor(async () => ((await readDoc(prefix, id))?.attempts ?? 0) >= 2, 'a retry')
  t.equal((await readDoc(prefix, id))?.state, 'retrying')
  // Past the retry window: the next attempt is the last.
  skewMs = 120_000
  await waitFor(async () => (await readDoc(prefix, id))?.state === 'failed', 'the delivery given up')
  const doc = await readDoc(prefix, id)
  t.equal(doc?.lastError, 'HTTP 500')
  t.equal(doc?.lastStatus, 500)
  t.equal(doc?.attempts, receiver.received.length)
  t.ok(receiver.received.length >= 3, 'retried before giving up')
  t.same(await s3.keys(prefix), [docKey(prefix, id)])
  t.equal(failed, 1)
  t.ok(outcomes.every((o) => o === 'http_error'))
})

t.test('a delivery whose job never got a record is dropped after a few minutes; a deleted job takes its delivery with it', async (t) => {
  const prefix = `${randomUUID()}/`
  const receiver = await startReceiver(t)
  let now = Date.now()
  const { w } = setup(prefix, { clock: () => now })
  t.teardown(() => w.stop())
  await w.register('never-started', receiver.url)
  await w.register('deleted', receiver.url)
  await w.remove('deleted')
  t.same(await s3.keys(prefix), [docKey(prefix, 'never-started'), markerKey(prefix, 'never-started')])
  w.start()
  now += 10 * 60_000
  await waitFor(async () => (await s3.keys(prefix)).length === 0, 'the orphan removed')
  t.equal(receiver.received.length, 0)
})

t.test('a replica stopped mid-attempt leaves its lease; another replica waits it out, then delivers', async (t) => {
  const prefix = `${randomUUID()}/`
  // The first request is held unanswered (the first replica is stopped during it); later ones get 200.
  const held: Array<() => void> = []
  let requests = 0
  const server = createServer((req, res) => {
    req.resume()
    requests++
    if (held.length === 0) held.push(() => res.destroy())
    else res.writeHead(200).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((r) => server.close(() => r()))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  const a = setup(prefix, { replicaId: 'a' })
  const id = 'job-lease'
  await a.w.register(id, url)
  a.w.jobEnded(jobView(id))
  await waitFor(() => held.length === 1, 'the first request held')
  await a.w.stop(0)
  const leased = await readDoc(prefix, id)
  t.equal(leased?.lease?.owner, 'a')
  t.equal(leased?.attempts, 0, 'the abandoned attempt is not recorded')

  // The second replica's clock is moved past the lease (timeoutMs + margin after the claim).
  let skewMs = 0
  const b = setup(prefix, { replicaId: 'b', clock: () => Date.now() + skewMs })
  b.jobs.set(id, jobView(id))
  t.teardown(() => b.w.stop())
  b.w.start()
  await waitFor(() => b.w.pending() === 1, 'a sweep by the second replica')
  await new Promise((r) => setTimeout(r, 300))
  t.ok(await readDoc(prefix, id), 'not taken while the lease lives')
  skewMs = 10 * 60_000
  await waitFor(async () => (await s3.keys(prefix)).length === 0, 'delivered after the lease lapsed')
  t.equal(requests, 2, 'the abandoned attempt, then one delivery')
})

t.test('the log names the host, status and attempt, never the secret, the signature or the URL path', async (t) => {
  const prefix = `${randomUUID()}/`
  const receiver = await startReceiver(t, (_r, i) => (i === 0 ? 500 : 200))
  const lines: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) })
  const { w, jobs } = setup(prefix, { logger })
  t.teardown(() => w.stop())
  const id = 'job-logged'
  await w.register(id, `${receiver.url}/secret-token-in-path?token=abc`)
  jobs.set(id, jobView(id))
  w.start()
  await waitFor(async () => (await s3.keys(prefix)).length === 0, 'delivered')
  const log = lines.join('')
  t.match(log, /"host":"127\.0\.0\.1:\d+"/)
  t.match(log, /"attempt":2/)
  t.match(log, /"status":500/)
  t.notMatch(log, SECRET.slice(6, 20))
  t.notMatch(log, 'whsec_')
  t.notMatch(log, receiver.received[0]!.headers['webhook-signature'] as string)
  t.notMatch(log, 'secret-token-in-path')
})
