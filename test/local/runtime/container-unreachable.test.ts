import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { eventually, freePort, runtimeHarness } from './durable-helpers.js'
import { asyncEndpoint, objectMissing, putInput, reply, startContainer, waitFor, waitForObject } from './helpers.js'

const fastRetry = { asyncRetry: { initialDelayMs: 20, maxDelayMs: 100 } }
const requeued = 'model container unreachable; request requeued'

t.test('a container that refuses connections is waited for; the requests complete once it answers', async (t) => {
  const port = await freePort()
  const h = await runtimeHarness(t)
  const { runtime, sagemaker } = await h.start([asyncEndpoint('later', `http://127.0.0.1:${port}`, { maxConcurrentInvocationsPerInstance: 2 })], fastRetry)
  const input = await putInput(h.s3, 'in/l', 'l')
  const outs = []
  for (const id of ['l-1', 'l-2', 'l-3']) {
    outs.push(await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'later', InputLocation: input, InferenceId: id })))
  }
  await eventually('a few refused attempts', () => h.logs.filter((l) => l.msg === requeued).length >= 3)
  const waiting = runtime.stats()[0]!
  t.match(waiting, { failed: 0, processed: 0 }, 'nothing failed')
  t.equal(waiting.backlog + waiting.inFlight, 3, 'all still queued or being retried')
  t.ok(h.logs.some((l) => l.msg === requeued && l.level === 40 && l.outcome === 'unreachable'), 'logged at warn')

  const container = await startContainer(t, (r, res) => reply(res, 200, `ok:${r.body.toString()}`, 'text/plain'), port)
  for (const out of outs) {
    t.equal((await waitForObject(h.s3, out.OutputLocation!)).body, 'ok:l')
    t.ok(await objectMissing(h.s3, out.FailureLocation!), 'no failure object')
  }
  t.same(container.seen.map((r) => r.headers['x-amzn-sagemaker-inference-id']).sort(), ['l-1', 'l-2', 'l-3'], 'each ran once')
  await waitFor('counted', () => runtime.stats()[0]!.processed === 3)
  t.equal(runtime.stats()[0]!.failed, 0)
})

t.test('a connection closed before any response status is retried, not a model failure', async (t) => {
  let dropped = 0
  const container = await startContainer(t, (r, res, req) => {
    if (dropped++ === 0) return void req.socket.destroy() // the model host dying mid-request
    reply(res, 200, `ok:${r.body.toString()}`, 'text/plain')
  })
  const h = await runtimeHarness(t)
  const { runtime, sagemaker } = await h.start([asyncEndpoint('flaky', container.url)], fastRetry)
  const input = await putInput(h.s3, 'in/f', 'f')
  const out = await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'flaky', InputLocation: input }))
  t.equal((await waitForObject(h.s3, out.OutputLocation!)).body, 'ok:f')
  t.ok(await objectMissing(h.s3, out.FailureLocation!))
  t.equal(container.seen.length, 2, 'ran again from the start')
  await waitFor('counted', () => runtime.stats()[0]!.processed === 1)
  t.equal(runtime.stats()[0]!.failed, 0)
})

t.test('a request that takes the connection down every time fails after three attempts', async (t) => {
  const container = await startContainer(t, (_r, _res, req) => void req.socket.destroy())
  const h = await runtimeHarness(t)
  const { runtime, sagemaker } = await h.start([asyncEndpoint('poison', container.url)], fastRetry)
  const input = await putInput(h.s3, 'in/p', 'p')
  const out = await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'poison', InputLocation: input }))
  const failure = JSON.parse((await waitForObject(h.s3, out.FailureLocation!)).body)
  t.equal(failure.errorCode, 'ModelInvocationFailed')
  t.match(failure.errorMessage, /ECONNRESET/)
  t.equal(container.seen.length, 3)
  await waitFor('counted', () => runtime.stats()[0]!.failed === 1)
  await eventually('its state file removed', async () => (await h.stateFiles()).length === 0)
})

t.test('RequestTTLSeconds keeps counting while the container is unreachable', async (t) => {
  let nowMs = Date.now()
  const port = await freePort()
  const h = await runtimeHarness(t)
  const { runtime, sagemaker } = await h.start([asyncEndpoint('down', `http://127.0.0.1:${port}`)], { ...fastRetry, clock: () => nowMs })
  const input = await putInput(h.s3, 'in/d', 'd')
  const out = await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'down', InputLocation: input, RequestTTLSeconds: 60 }))
  await eventually('a refused attempt', () => h.logs.some((l) => l.msg === requeued))
  nowMs += 61_000
  t.equal(JSON.parse((await waitForObject(h.s3, out.FailureLocation!)).body).errorCode, 'RequestExpired')
  await waitFor('counted', () => runtime.stats()[0]!.expired === 1)
  t.match(runtime.stats()[0], { backlog: 0, inFlight: 0, failed: 0 })
})
