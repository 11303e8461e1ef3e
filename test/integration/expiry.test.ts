import t from 'tap'
import { holdingContainer } from '../helpers/holding-container.js'
import { startTestStack, waitForJob } from '../helpers/stack.js'

t.test('a request that outlives its TTL in the queue becomes an expired job', async (t) => {
  const container = await holdingContainer(t)
  let offsetMs = 0
  const clock = () => Date.now() + offsetMs
  const it = await startTestStack(t, {
    clock,
    endpoints: [{ name: 'held-async', mode: 'async', handler: 'summarize', containerUrl: container.url, maxConcurrentInvocationsPerInstance: 1, instanceCount: 1 }],
    models: { held: { mode: 'async', endpointName: 'held-async', contentTypes: ['text/plain'], maxBytes: 1024, ttlSeconds: 60, invocationTimeoutSeconds: 3600 } },
  })
  const submit = async (text: string) => {
    const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text })
    t.equal(res.status, 202)
    return ((await res.json()) as { id: string }).id
  }
  const arrival = container.nextArrival()
  const first = await submit('first')
  await arrival // the only slot is now taken
  const second = await submit('second')
  t.equal((await (await fetch(`${it.baseUrl}/jobs/${second}`)).json() as { status: string }).status, 'in_progress')

  offsetMs = 61_000 // past RequestTTLSeconds while still queued
  const expired = await waitForJob(it.baseUrl, second)
  t.equal(expired.status, 'expired')
  t.equal(container.held.length, 1, 'the expired request never reached the container')

  container.release()
  const done = await waitForJob(it.baseUrl, first)
  t.equal(done.status, 'completed')
  t.equal(await (await fetch(`${it.baseUrl}/jobs/${first}/result`)).text(), 'first')
})
