import { InvokeEndpointCommand, ModelError, ValidationError } from '@aws-sdk/client-sagemaker-runtime'
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { modelIdOf } from '../../../src/local/runtime/server.js'
import { BUCKET, MME_PREFIX, makeArtifact, mmeContainer, mmeEndpoint, putInput, putModel, startStack } from './helpers.js'

const container = await mmeContainer(t)
const modelsDir = t.testdir()
const stack = await startStack(t, [mmeEndpoint('mme', container.url, modelsDir, { maxLoadedModels: 2 })])
const stats = () => stack.runtime.realtimeStats()[0]!.multiModel!

async function call(targetModel: string, body = 'hi'): Promise<string> {
  const out = await stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'mme', TargetModel: targetModel, Body: Buffer.from(body), ContentType: 'text/plain' }))
  return Buffer.from(out.Body!).toString()
}
async function failure(targetModel: string): Promise<Error> {
  return stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'mme', TargetModel: targetModel, Body: Buffer.from('x') })).then(
    () => {
      throw new Error('expected the call to fail')
    },
    (err: Error) => err,
  )
}

await putModel(stack.s3, 'a.tar.gz', 'model A')
await putModel(stack.s3, 'b.tar.gz', 'model B')
await putModel(stack.s3, 'c.tar.gz', 'model C')

t.test('the first call downloads, unpacks and loads; the second is warm', async (t) => {
  const id = modelIdOf('a.tar.gz')
  t.equal(await call('a.tar.gz', 'one'), 'model A:one', 'the container read greeting.txt from the unpacked artifact')
  t.same(container.loads, [{ model_name: id, url: join(modelsDir, id, 'model') }])
  t.equal(await call('a.tar.gz', 'two'), 'model A:two')
  t.equal(container.loads.length, 1, 'loaded once')
  t.same(container.invocations.at(-1), { modelName: id, targetModel: 'a.tar.gz' })
  t.match(stats(), { loads: 1, coldStarts: 1, unloads: 0, loadedModels: 1, loaded: ['a.tar.gz'], loading: 0 })
  const listed = (await (await fetch(`${stack.runtime.url}/_local/endpoints`)).json()) as { endpoints: unknown[] }
  t.match(listed.endpoints, [
    { name: 'mme', mode: 'realtime', modelDataUrl: `s3://${BUCKET}/${MME_PREFIX}`, stats: { invocations: 2, multiModel: { loads: 1, loadedModels: 1 } } },
  ])
  const one = await (await fetch(`${stack.runtime.url}/_local/endpoints/mme/stats`)).json()
  t.same(one, stack.runtime.realtimeStats()[0])
})

t.test('beyond maxLoadedModels the least recently used model is unloaded', async (t) => {
  t.equal(await call('b.tar.gz'), 'model B:hi')
  t.equal(await call('a.tar.gz'), 'model A:hi', 'a is now more recent than b')
  t.equal(await call('c.tar.gz'), 'model C:hi')
  const b = modelIdOf('b.tar.gz')
  t.same(container.deletes, [b])
  t.notOk(existsSync(join(modelsDir, b)), "b's directory is removed")
  t.ok(existsSync(join(modelsDir, modelIdOf('a.tar.gz'), 'model', 'greeting.txt')))
  t.match(stats(), { unloads: 1, loadedModels: 2, loaded: ['a.tar.gz', 'c.tar.gz'] })
  t.equal(await call('b.tar.gz'), 'model B:hi', 'b loads again when called')
  t.same(container.deletes, [b, modelIdOf('a.tar.gz')])
})

t.test('a missing artifact is SageMaker’s ValidationError', async (t) => {
  const err = await failure('missing.tar.gz')
  t.ok(err instanceof ValidationError)
  t.equal(
    err.message,
    `Failed to download model data(bucket: ${BUCKET}, key: ${MME_PREFIX}missing.tar.gz). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.`,
  )
  t.notOk(existsSync(join(modelsDir, modelIdOf('missing.tar.gz'))))
})

t.test('an artifact uploaded under the prefix becomes callable without a restart', async (t) => {
  t.ok((await failure('new/d.tar.gz')) instanceof ValidationError)
  await putModel(stack.s3, 'new/d.tar.gz', 'model D')
  t.equal(await call('new/d.tar.gz'), 'model D:hi', 'a TargetModel with "/" works too')
})

t.test('an artifact with an entry escaping the model directory is refused', async (t) => {
  const evil = await makeArtifact({ 'greeting.txt': 'evil', '../../escaped.txt': 'gotcha' })
  await putInput(stack.s3, `${MME_PREFIX}evil.tar.gz`, evil)
  const before = container.loads.length
  const err = await failure('evil.tar.gz')
  t.ok(err instanceof ValidationError)
  t.equal(
    err.message,
    `Failed to extract model data(bucket: ${BUCKET}, key: ${MME_PREFIX}evil.tar.gz): entry '../../escaped.txt' escapes the model directory`,
  )
  t.notOk(existsSync(join(modelsDir, 'escaped.txt')))
  t.notOk((await readdir(modelsDir)).includes(modelIdOf('evil.tar.gz')))
  t.equal(container.loads.length, before, 'the container was never asked to load it')
})

t.test('an artifact with a symlink is refused', async (t) => {
  await putInput(stack.s3, `${MME_PREFIX}link.tar.gz`, await makeArtifact([{ name: 'greeting.txt', type: 'symlink', linkname: '/etc/passwd' }]))
  const err = await failure('link.tar.gz')
  t.match(err.message, /entry 'greeting.txt' is a symlink; only files and directories are supported$/)
})

t.test('an artifact that is not a .tar.gz is refused', async (t) => {
  await putInput(stack.s3, `${MME_PREFIX}plain.tar.gz`, 'just text')
  const err = await failure('plain.tar.gz')
  t.ok(err instanceof ValidationError)
  t.match(err.message, /^Failed to extract model data\(bucket: runtime-test, key: mme\/models\/plain\.tar\.gz\): not a valid \.tar\.gz/)
})

t.test('a load the container refuses is a ModelError and the model stays unloaded', async (t) => {
  await putModel(stack.s3, 'flaky.tar.gz', 'model F')
  container.failLoadsWith.push(500)
  const err = await failure('flaky.tar.gz')
  t.ok(err instanceof ModelError)
  t.equal((err as ModelError).OriginalStatusCode, 500)
  t.equal((err as ModelError).OriginalMessage, '{"error":"load failed with 500"}')
  t.notOk(stats().loaded.includes('flaky.tar.gz'))
  t.equal(await call('flaky.tar.gz'), 'model F:hi', 'the next call loads it again')
})

t.test('507 from the container unloads the LRU model and retries once', async (t) => {
  await putModel(stack.s3, 'big.tar.gz', 'model Big')
  t.equal(stats().loadedModels, 2, 'full')
  const [older, newer] = stats().loaded
  const deletes = container.deletes.length
  const loads = container.loads.length
  container.failLoadsWith.push(507)
  t.equal(await call('big.tar.gz'), 'model Big:hi')
  // One unload to make room as usual, one more after the 507, then the retried load.
  t.same(container.deletes.slice(deletes), [modelIdOf(older!), modelIdOf(newer!)])
  t.equal(container.loads.length - loads, 2)
  t.same(stats().loaded, ['big.tar.gz'])
})

t.test('a model the container dropped on its own is reloaded once', async (t) => {
  t.equal(await call('big.tar.gz'), 'model Big:hi')
  const loads = stats().loads
  container.loaded.delete(modelIdOf('big.tar.gz'))
  t.equal(await call('big.tar.gz', 'again'), 'model Big:again')
  t.equal(stats().loads, loads + 1)
})
