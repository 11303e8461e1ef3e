import { InvokeEndpointCommand, ModelError, ModelNotReadyException, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { CREDENTIALS, REGION, mmeContainer, mmeEndpoint, newGate, putModel, startStack, waitFor } from './helpers.js'

const container = await mmeContainer(t)
const stack = await startStack(t, [
  mmeEndpoint('slow-mme', container.url, t.testdir(), { notReadyAfterMs: 200 }),
  mmeEndpoint('stuck-mme', container.url, t.testdir(), { notReadyAfterMs: 60_000, maxLoadMs: 300 }),
])
const stats = (name = 'slow-mme') => stack.runtime.realtimeStats().find((s) => s.endpointName === name)!.multiModel!
// ModelNotReadyException is a 429, which the SDK retries by default: one attempt shows it as is.
const once = new SageMakerRuntimeClient({ region: REGION, endpoint: stack.runtime.url, credentials: CREDENTIALS, maxAttempts: 1 })
t.teardown(() => once.destroy())

const invoke = (client: SageMakerRuntimeClient, targetModel: string, body: string, endpoint = 'slow-mme') =>
  client.send(new InvokeEndpointCommand({ EndpointName: endpoint, TargetModel: targetModel, Body: Buffer.from(body) }))

await putModel(stack.s3, 'slow.tar.gz', 'slow model')
await putModel(stack.s3, 'shared.tar.gz', 'shared model')

t.test('a load longer than notReadyAfterMs answers ModelNotReadyException while it continues', async (t) => {
  container.gate = newGate()
  const err = await invoke(once, 'slow.tar.gz', 'first').then(
    () => t.fail('expected ModelNotReadyException'),
    (e: unknown) => e,
  )
  t.ok(err instanceof ModelNotReadyException)
  t.equal((err as ModelNotReadyException).$metadata.httpStatusCode, 429)
  t.equal((err as ModelNotReadyException).message, 'Model slow.tar.gz is not ready yet; retry later.')
  t.match(stats(), { loading: 1, loads: 0, loadedModels: 0 })

  // A second caller joins the same load instead of starting another.
  const second = invoke(once, 'slow.tar.gz', 'second').catch((e: unknown) => e)
  t.ok((await second) instanceof ModelNotReadyException)
  await waitFor('the load to reach the container', () => container.loads.length === 1)
  t.equal(stats().loading, 1, 'one load in progress')

  container.gate.open()
  container.gate = undefined
  await waitFor('the load to finish', () => stats().loads === 1)
  const out = await invoke(once, 'slow.tar.gz', 'later')
  t.equal(Buffer.from(out.Body!).toString(), 'slow model:later')
  t.equal(container.loads.length, 1, 'still the one load')
  t.match(stats(), { coldStarts: 2, loads: 1, loading: 0, loadedModels: 1 })
})

t.test('two concurrent first calls of a model share one load', async (t) => {
  container.gate = newGate()
  const loadsBefore = container.loads.length
  const calls = [invoke(stack.sagemaker, 'shared.tar.gz', 'a'), invoke(stack.sagemaker, 'shared.tar.gz', 'b')]
  await waitFor('the load to reach the container', () => container.loads.length === loadsBefore + 1)
  container.gate.open()
  container.gate = undefined
  const bodies = (await Promise.all(calls)).map((o) => Buffer.from(o.Body!).toString()).sort()
  t.same(bodies, ['shared model:a', 'shared model:b'])
  t.equal(container.loads.length, loadsBefore + 1, 'one load for both')
})

t.test('a load over maxLoadMs fails as a ModelError with OriginalStatusCode 0', async (t) => {
  container.gate = newGate()
  const err = await invoke(once, 'slow.tar.gz', 'x', 'stuck-mme').then(
    () => t.fail('expected a ModelError'),
    (e: unknown) => e,
  )
  t.ok(err instanceof ModelError)
  t.equal((err as ModelError).OriginalStatusCode, 0)
  t.equal((err as ModelError).OriginalMessage, 'Model slow.tar.gz did not finish loading within 0.3 seconds.')
  t.match(stats('stuck-mme'), { loads: 0, failedLoads: 1, loading: 0, loadedModels: 0 })
  container.gate.open()
  container.gate = undefined
})
