import t, { type Test } from 'tap'
import type { Config } from '../../src/config.js'
import { heldStack as sharedHeldStack } from '../helpers/held-stack.js'
import { sampleSum, scrape, type Sample } from '../helpers/prometheus.js'
import { startReceiver, waitFor, webhookConfig } from '../services/webhooks-fixtures.js'

/**
 * GET /metrics moves with real work over the local stack: each test reads the series before, does
 * the work through real HTTP, and compares what moved. States (a wait held, a delivery pending) are
 * polled on /metrics in bounded loops, never slept for.
 */

/** The held stack (helpers/held-stack.ts, bodies up to 64 KiB) and reads of its /metrics. */
async function heldStack(t: Test, options: { sns?: boolean; configure?: (c: Config) => Config } = {}) {
  const { it, container } = await sharedHeldStack(t, { ...options, maxBytes: 64 * 1024 })
  const metrics = () => scrape(`${it.baseUrl}/metrics`)
  /** Polls /metrics until `check` holds on a scrape; returns that scrape. */
  const metricsWhen = async (what: string, check: (s: Sample[]) => boolean, timeoutMs = 30_000): Promise<Sample[]> => {
    let last: Sample[] = []
    await waitFor(async () => check((last = await metrics())), what, timeoutMs)
    return last
  }
  return { it, container, metrics, metricsWhen }
}

/** The change of one series (summed over the labels given) between two scrapes. */
const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string> = {}) => sampleSum(after, name, labels) - sampleSum(before, name, labels)

const b64 = (s: string) => Buffer.from(s).toString('base64')

t.test('an upload, its job and a waiting client move the upload, job and wait series', async (t) => {
  const { it, container, metrics, metricsWhen } = await heldStack(t)
  const before = await metrics()
  const body = 'x'.repeat(12_345)
  const arrival = container.nextArrival()
  const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })
  t.equal(res.status, 202)
  const { id } = (await res.json()) as { id: string }
  await arrival
  const created = await metrics()
  t.equal(delta(before, created, 'sagegate_upload_bytes_total', { via: 'jobs' }), body.length, 'every byte of the upload')
  t.equal(delta(before, created, 'sagegate_jobs_created_total', { model: 'held' }), 1)
  t.equal(sampleSum(created, 'sagegate_waits_active'), 0, 'nobody waits yet')

  const wait = fetch(`${it.baseUrl}/jobs/${id}?wait=30`).then(async (r) => ({ status: r.status, job: (await r.json()) as { status: string } }))
  await metricsWhen('the wait to be counted', (s) => sampleSum(s, 'sagegate_waits_active') === 1)
  t.pass('sagegate_waits_active is 1 while the wait is held')
  container.release()
  const answer = await wait
  t.same([answer.status, answer.job.status], [200, 'completed'])
  const after = await metricsWhen('the wait to end', (s) => sampleSum(s, 'sagegate_waits_active') === 0)
  t.equal(delta(before, after, 'sagegate_job_duration_seconds_count', { model: 'held', outcome: 'completed' }), 1, 'one job duration observed')
  t.equal(delta(before, after, 'sagegate_jobs_finished_total', { model: 'held', outcome: 'completed' }), 1)
  t.equal(delta(before, after, 'sagegate_jobs_created_total'), 1, 'the wait created nothing')
  t.equal(delta(before, after, 'sagegate_upload_bytes_total'), body.length, 'nor uploaded anything')
})

t.test('a resumable upload counts its bytes under via="tus" when its job starts', async (t) => {
  const { it, container, metrics } = await heldStack(t)
  const before = await metrics()
  const body = 'resumable '.repeat(500)
  const arrival = container.nextArrival()
  const res = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-length': String(body.length),
      'upload-metadata': `model ${b64('held')},filetype ${b64('text/plain')}`,
      'content-type': 'application/offset+octet-stream',
    },
    body,
  })
  t.equal(res.status, 201)
  t.ok(res.headers.get('job-location'), 'the job started with the last byte')
  await arrival
  const after = await metrics()
  t.equal(delta(before, after, 'sagegate_upload_bytes_total', { via: 'tus' }), body.length)
  t.equal(delta(before, after, 'sagegate_upload_bytes_total', { via: 'jobs' }), 0, 'not counted twice')
  t.equal(delta(before, after, 'sagegate_jobs_created_total', { model: 'held' }), 1)
  container.release()
})

t.test('a webhook that fails once: pending while the job runs, one retry, one delivery with its latency', async (t) => {
  const receiver = await startReceiver(t, (_r, i) => (i === 0 ? 500 : 204))
  const { it, container, metrics, metricsWhen } = await heldStack(t, { configure: (c) => ({ ...c, webhooks: webhookConfig() }) })
  const before = await metrics()
  t.equal(sampleSum(before, 'sagegate_webhooks_pending'), 0)
  const arrival = container.nextArrival()
  const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-webhook-url': receiver.url }, body: 'call me' })
  t.equal(res.status, 202)
  await arrival
  // The sweep (every 100 ms here) finds the delivery registered at creation.
  await metricsWhen('the delivery to be pending', (s) => sampleSum(s, 'sagegate_webhooks_pending') === 1)
  const held = await metrics()
  t.equal(delta(before, held, 'sagegate_webhook_deliveries_total'), 0, 'no attempt while the job runs')
  t.equal(receiver.received.length, 0)

  container.release()
  // The first attempt fails (500); the retry comes 5 s (±10%) later and is accepted.
  const after = await metricsWhen('the delivery', (s) => delta(before, s, 'sagegate_webhook_deliveries_total', { outcome: 'delivered' }) >= 1, 40_000)
  t.equal(receiver.received.length, 2)
  t.equal(delta(before, after, 'sagegate_webhook_deliveries_total', { outcome: 'delivered' }), 1)
  t.equal(delta(before, after, 'sagegate_webhook_deliveries_total', { outcome: 'retry' }), 1, 'the failed first attempt')
  t.equal(delta(before, after, 'sagegate_webhook_deliveries_total', { outcome: 'failed' }), 0, 'nothing given up')
  t.equal(delta(before, after, 'sagegate_webhook_delivery_latency_seconds_count'), 1)
  const latency = delta(before, after, 'sagegate_webhook_delivery_latency_seconds_sum')
  t.ok(latency >= 4 && latency < 40, `latency ${latency} s counts from the first attempt, the retry's wait included`)
  await metricsWhen('no delivery to be pending', (s) => sampleSum(s, 'sagegate_webhooks_pending') === 0)
  t.pass('sagegate_webhooks_pending is back to 0')
})

t.test("SNS: the notification that ends a wait is counted as accepted; the job's webhook is delivered once", async (t) => {
  const receiver = await startReceiver(t)
  const { it, container, metrics, metricsWhen } = await heldStack(t, { sns: true, configure: (c) => ({ ...c, webhooks: webhookConfig() }) })
  const before = await metrics()
  const arrival = container.nextArrival()
  const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-webhook-url': receiver.url }, body: 'notify me' })
  const { id } = (await res.json()) as { id: string }
  await arrival
  const wait = fetch(`${it.baseUrl}/jobs/${id}?wait=50`).then(async (r) => ((await r.json()) as { status: string }).status)
  await metricsWhen('the wait to be counted', (s) => sampleSum(s, 'sagegate_waits_active') === 1)
  t.equal(delta(before, await metrics(), 'sagegate_sns_notifications_total', { type: 'Notification' }), 0, 'no notification yet')
  container.release()
  t.equal(await wait, 'completed')
  const after = await metricsWhen(
    'the notification, the delivery and the wait to be counted',
    (s) =>
      delta(before, s, 'sagegate_sns_notifications_total', { type: 'Notification' }) >= 1 &&
      delta(before, s, 'sagegate_webhook_deliveries_total', { outcome: 'delivered' }) >= 1 &&
      sampleSum(s, 'sagegate_waits_active') === 0,
  )
  t.equal(delta(before, after, 'sagegate_sns_notifications_total', { type: 'Notification', outcome: 'accepted' }), 1, 'one success notification, accepted')
  t.equal(delta(before, after, 'sagegate_sns_notifications_total', { outcome: 'refused' }), 0)
  t.equal(delta(before, after, 'sagegate_webhook_deliveries_total', { outcome: 'retry' }), 0)
  t.equal(delta(before, after, 'sagegate_webhook_delivery_latency_seconds_count'), 1)
  t.equal(delta(before, after, 'sagegate_job_duration_seconds_count', { model: 'held', outcome: 'completed' }), 1)
  t.equal(receiver.received.length, 1)
})
