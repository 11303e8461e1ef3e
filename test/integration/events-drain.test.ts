import t, { type Test } from 'tap'
import { drain } from '../../src/drain.js'
import { heldStack, readEvents, settledWithin } from '../helpers/held-stack.js'
import { sampleSum, scrape } from '../helpers/prometheus.js'
import { waitFor } from '../services/webhooks-fixtures.js'

/** The held stack with one job submitted and held (released at the end, so that the local runtime is not left holding an invocation). */
async function heldJob(t: Test) {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('drain me')
  t.teardown(() => container.release())
  return { it, id }
}

/** Opens the job's event stream and waits until the gateway counts it among the waiting clients. */
async function openEvents(baseUrl: string, id: string) {
  const res = await fetch(`${baseUrl}/jobs/${id}/events`)
  await waitFor(async () => sampleSum(await scrape(`${baseUrl}/metrics`), 'sagegate_waits_active') === 1, 'the stream to be watching the job', 10_000)
  return res
}

t.test('a drain ends an open event stream cleanly; its last event is the current state', async (t) => {
  const { it, id } = await heldJob(t)
  const res = await openEvents(it.baseUrl, id)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  const read = readEvents(res)
  t.notOk(await settledWithin(read, 300), 'the stream stays open while the job runs')
  it.app.lifecycle.startDrain()
  const { text, events } = await read
  t.match(text, /^retry: \d+\n\n/, 'EventSource is told when to reconnect')
  t.ok(text.endsWith('\n\n'), 'the stream ends after a whole event')
  t.notMatch(text, /event: (?!status)/, 'no event but status events')
  t.same(events.map((e) => [e.event, e.id]), [['status', 'in_progress']])
  t.match(JSON.parse(events.at(-1)!.data), { id, status: 'in_progress' })
  await waitFor(async () => sampleSum(await scrape(`${it.baseUrl}/metrics`), 'sagegate_waits_active') === 0, 'the stream to be let go', 10_000)
  t.pass('sagegate_waits_active is back to 0')
})

t.test('a full drain is not held up by an open event stream, and the stream completes', async (t) => {
  const { it, id } = await heldJob(t)
  const res = await openEvents(it.baseUrl, id)
  const read = readEvents(res)
  const drained = drain(it.app, 30_000)
  // The stream would last as long as the job (held here until the end of the test); the drain must
  // end it rather than wait for its deadline. The 10 s short of the deadline are a slow machine's margin.
  t.ok(await settledWithin(drained, 20_000), 'drained before its 30 s deadline')
  const { text, events } = await read
  t.ok(text.endsWith('\n\n'), 'the stream ended after a whole event, not cut')
  t.same(events.map((e) => e.id), ['in_progress'], 'the last event is the current state')
  await t.rejects(fetch(`${it.baseUrl}/healthz`), 'the listener is closed')
})
