import t from 'tap'
import { settlesToNothing, startFaultStack } from './helpers.js'

const submit = (baseUrl: string) =>
  fetch(`${baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'One sentence. And another.' })

t.test('the runtime stalls during InvokeEndpointAsync: 504 with Retry-After, the stored input is removed', async (t) => {
  const it = await startFaultStack(t)
  it.runtimeProxy.stall()
  const res = await submit(it.baseUrl)
  t.equal(res.status, 504)
  t.equal(res.headers.get('retry-after'), '5')
  t.equal(((await res.json()) as { code: string }).code, 'upstream_timeout')
  await settlesToNothing(t, it)
})

t.test('the runtime resets connections: 503 with Retry-After, the stored input is removed', async (t) => {
  const it = await startFaultStack(t)
  it.runtimeProxy.refuse(true)
  const res = await submit(it.baseUrl)
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '5')
  t.equal(((await res.json()) as { code: string }).code, 'upstream_unavailable')
  await settlesToNothing(t, it)
  it.runtimeProxy.refuse(false)
  t.equal((await submit(it.baseUrl)).status, 202, 'works again once the runtime is back')
})
