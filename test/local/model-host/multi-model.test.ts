import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { post, writeArtifact, writeFixtureHandlers } from './fixtures.js'

interface Mme {
  url: string
  dir: string
  load(name: string, url: string): Promise<{ status: number; body: { status?: string; error?: string } }>
  invoke(name: string, body: string, headers?: Record<string, string>): ReturnType<typeof post>
}

async function startMme(t: Test, options: { maxLoadedModels?: number; env?: Record<string, string> } = {}): Promise<Mme> {
  const dir = t.testdir({ handlers: {}, models: {} })
  const handlersDir = await writeFixtureHandlers(join(dir, 'handlers'))
  const host = await startModelHost({ handlersDir, containers: [{ name: 'mme', multiModel: true, ...options }] })
  t.teardown(() => host.close())
  const { url } = host.containers[0]!
  return {
    url,
    dir: join(dir, 'models'),
    async load(name, modelUrl) {
      const response = await fetch(`${url}/models`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model_name: name, url: modelUrl }),
      })
      return { status: response.status, body: (await response.json()) as { status?: string; error?: string } }
    },
    invoke: (name, body, headers = {}) =>
      post(`${url}/models/${encodeURIComponent(name)}/invoke`, body, { 'Content-Type': 'text/plain', ...headers }),
  }
}

const artifact = (mme: Mme, name: string, data: unknown) => writeArtifact(join(mme.dir, name), { handler: 'artifact' }, data)

t.test('a multi-model container is healthy with no models', async (t) => {
  const mme = await startMme(t)
  const ping = await fetch(`${mme.url}/ping`)
  t.equal(ping.status, 200)
  t.same(await fetch(`${mme.url}/models`).then((r) => r.json()), { models: [] })
  t.equal((await post(`${mme.url}/invocations`, 'x')).status, 404, 'no /invocations on a multi-model container')
})

t.test('load, then invoke: 200 with a Content-Length', async (t) => {
  const mme = await startMme(t)
  const dir = await artifact(mme, 'a', { label: 'alpha' })
  t.same(await mme.load('model-a', dir), { status: 200, body: { status: 'loaded' } })
  const response = await mme.invoke('model-a', 'hello')
  t.equal(response.status, 200)
  t.equal(response.headers['content-type'], 'application/json')
  t.equal(response.headers['content-length'], String(Buffer.byteLength(response.body)))
  t.notOk(response.headers['transfer-encoding'])
  t.match(JSON.parse(response.body), { input: 'hello', data: { label: 'alpha' }, modelDir: dir })
})

t.test('one handler serves two artifacts, each with its own modelDir and data', async (t) => {
  const mme = await startMme(t)
  const a = await artifact(mme, 'a', { label: 'alpha' })
  const b = await artifact(mme, 'b', { label: 'beta' })
  t.equal((await mme.load('a', a)).status, 200)
  t.equal((await mme.load('b', b)).status, 200)
  t.match(JSON.parse((await mme.invoke('a', 'x')).body), { data: { label: 'alpha' }, modelDir: a })
  t.match(JSON.parse((await mme.invoke('b', 'x')).body), { data: { label: 'beta' }, modelDir: b })
  const described = await fetch(`${mme.url}/models/b`).then((r) => r.json())
  t.same(described, { modelName: 'b', modelUrl: b, handler: 'artifact' })
})

t.test('the TargetModel header and the container env reach the handler', async (t) => {
  const mme = await startMme(t, { env: { MODEL_FLAVOUR: 'vanilla' } })
  t.equal((await mme.load('id-1', await artifact(mme, 'a', {}))).status, 200)
  const response = await mme.invoke('id-1', 'x', { 'X-Amzn-SageMaker-Target-Model': 'team/cifar.tar.gz' })
  t.match(JSON.parse(response.body), {
    targetModel: 'team/cifar.tar.gz',
    modelFnEnv: { MODEL_FLAVOUR: 'vanilla' },
    ctxEnv: { MODEL_FLAVOUR: 'vanilla' },
  })
})

t.test('loading a model twice is a 409', async (t) => {
  const mme = await startMme(t)
  const dir = await artifact(mme, 'a', {})
  t.equal((await mme.load('a', dir)).status, 200)
  const again = await mme.load('a', dir)
  t.equal(again.status, 409)
  t.match(again.body, { error: /model a is already loaded/ })
})

t.test('a load beyond maxLoadedModels is a 507; after an unload it fits', async (t) => {
  const mme = await startMme(t, { maxLoadedModels: 2 })
  const dir = await artifact(mme, 'a', {})
  t.equal((await mme.load('one', dir)).status, 200)
  t.equal((await mme.load('two', dir)).status, 200)
  const full = await mme.load('three', dir)
  t.equal(full.status, 507)
  t.match(full.body, { error: /maximum of 2 models/ })
  t.equal((await fetch(`${mme.url}/models/one`, { method: 'DELETE' })).status, 200)
  t.equal((await mme.load('three', dir)).status, 200)
})

t.test('get and delete: unloadFn runs, then get, invoke and delete are 404', async (t) => {
  const mme = await startMme(t)
  const dir = await artifact(mme, 'a', {})
  const unloaded: string[] = []
  globalThis.__modelHostFixture = { unloaded: (modelDir) => unloaded.push(modelDir) }
  t.teardown(() => {
    globalThis.__modelHostFixture = undefined
  })
  t.equal((await mme.load('a', dir)).status, 200)
  t.equal((await fetch(`${mme.url}/models/a`)).status, 200)
  const deleted = await fetch(`${mme.url}/models/a`, { method: 'DELETE' })
  t.equal(deleted.status, 200)
  t.same(unloaded, [dir], 'unloadFn got the model')
  t.equal((await fetch(`${mme.url}/models/a`)).status, 404)
  const invoked = await mme.invoke('a', 'x')
  t.equal(invoked.status, 404)
  t.same(JSON.parse(invoked.body), { error: 'model not loaded' })
  t.equal((await fetch(`${mme.url}/models/a`, { method: 'DELETE' })).status, 404)
  t.same(await fetch(`${mme.url}/models`).then((r) => r.json()), { models: [] })
})

t.test('invoking a model that was never loaded is a 404', async (t) => {
  const mme = await startMme(t)
  const response = await mme.invoke('nope', 'x')
  t.equal(response.status, 404)
  t.same(JSON.parse(response.body), { error: 'model not loaded' })
})

t.test('a missing or invalid model.json is a 400 that says what is wrong', async (t) => {
  const mme = await startMme(t)
  const cases: Array<[string, unknown, RegExp]> = [
    ['not-json', '{"handler": ', /model\.json is not valid JSON/],
    ['no-handler', { name: 'x' }, /must name its handler/],
    ['array', [1], /must be a JSON object/],
    ['unknown-handler', { handler: 'no-such-handler' }, /unknown handler "no-such-handler"/],
    ['escaping-handler', { handler: '../x' }, /invalid handler name/],
  ]
  for (const [name, manifest, message] of cases) {
    const response = await mme.load(name, await writeArtifact(join(mme.dir, name), manifest))
    t.equal(response.status, 400, name)
    t.match(response.body, { error: message }, name)
  }
  const missing = await mme.load('missing', join(mme.dir, 'does-not-exist'))
  t.equal(missing.status, 400)
  t.match(missing.body, { error: /model\.json: it is missing/ })
  const relative = await mme.load('relative', 'models/a')
  t.equal(relative.status, 400)
  t.match(relative.body, { error: /absolute local directory/ })
  t.same(await fetch(`${mme.url}/models`).then((r) => r.json()), { models: [] }, 'none of them was kept')
})

t.test('a malformed load request is a 400', async (t) => {
  const mme = await startMme(t)
  for (const body of ['{oops', '[]', '{"url": "/tmp"}', '{"model_name": "", "url": "/tmp"}', '{"model_name": "a"}']) {
    const response = await fetch(`${mme.url}/models`, { method: 'POST', body })
    t.equal(response.status, 400, body)
  }
})

t.test('a modelFn that throws is a 500 with its message, and the model is not kept', async (t) => {
  const mme = await startMme(t)
  const dir = await writeArtifact(join(mme.dir, 'broken'), { handler: 'broken-model' })
  const response = await mme.load('broken', dir)
  t.equal(response.status, 500)
  t.match(response.body, { error: /weights missing/ })
  t.same(await fetch(`${mme.url}/models`).then((r) => r.json()), { models: [] })
  t.equal((await mme.invoke('broken', 'x')).status, 404)
  t.equal((await mme.load('broken', dir)).status, 500, 'a retry loads again rather than a 409')
})

t.test('model names are opaque: any printable name round-trips through the path', async (t) => {
  const mme = await startMme(t)
  const name = 'team/models/cifar v2.tar.gz'
  t.equal((await mme.load(name, await artifact(mme, 'a', { label: 'odd' }))).status, 200)
  t.match(JSON.parse((await mme.invoke(name, 'x')).body), { data: { label: 'odd' } })
  t.match(await fetch(`${mme.url}/models/${encodeURIComponent(name)}`).then((r) => r.json()), { modelName: name })
  t.equal((await fetch(`${mme.url}/models/%E0%A4%A`)).status, 400, 'a malformed escape is a 400')
})

t.test('a multi-model container refuses a fixed handler, and a single-model one needs it', async (t) => {
  await t.rejects(startModelHost({ containers: [{ name: 'x', multiModel: true, handler: 'summarize' }] }), {
    message: /takes its handlers from each model's model\.json/,
  })
  await t.rejects(startModelHost({ containers: [{ name: 'x' }] }), { message: /"handler" is required/ })
  await t.rejects(startModelHost({ containers: [{ name: 'x', multiModel: true, maxLoadedModels: 0 }] }), {
    message: /maxLoadedModels must be an integer of at least 1/,
  })
})
