import t from 'tap'
import { eventually } from '../helpers/upload-client.js'
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

t.test('a client that leaves while its job is being started leaves no job and no input', async (t) => {
  const it = await startFaultStack(t, (c) => ({ ...c, aws: { ...c.aws, sageMakerAttemptTimeoutMs: 5000 } }))
  it.runtimeProxy.stall()
  const before = it.runtimeProxy.stats().accepted
  const controller = new AbortController()
  const call = fetch(`${it.baseUrl}/models/summarize/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'A text whose client will not wait.',
    signal: controller.signal,
  })
  // The input is stored and InvokeEndpointAsync has gone out (a new connection to the runtime): leave.
  await eventually('InvokeEndpointAsync is on its way', () => it.runtimeProxy.stats().accepted > before)
  controller.abort()
  await t.rejects(call)
  // The runtime answers after all (the job would start): the gateway must not keep it.
  it.runtimeProxy.pass()
  await settlesToNothing(t, it)
  await eventually('the disconnect was counted', async () =>
    /sagegate_client_disconnects_total\{route="\/models\/:name\/jobs"\} 1/.test(await (await fetch(`${it.baseUrl}/metrics`)).text()),
  )
})
