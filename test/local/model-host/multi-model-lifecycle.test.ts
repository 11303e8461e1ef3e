// Listing with pages, and what happens when loads and unloads overlap with other requests.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { eventually, post, writeArtifact, writeFixtureHandlers } from './fixtures.js'

async function startMme(t: Test) {
  const dir = t.testdir({ handlers: {}, models: {} })
  const handlersDir = await writeFixtureHandlers(join(dir, 'handlers'))
  const host = await startModelHost({ handlersDir, containers: [{ name: 'mme', multiModel: true }] })
  t.teardown(() => host.close())
  t.teardown(() => {
    globalThis.__modelHostFixture = undefined
  })
  const { url } = host.containers[0]!
  const load = (name: string, modelUrl: string) =>
    fetch(`${url}/models`, { method: 'POST', body: JSON.stringify({ model_name: name, url: modelUrl }) })
  const artifact = (name: string, handler: string) => writeArtifact(join(dir, 'models', name), { handler }, {})
  return { url, load, artifact }
}

interface ListPage {
  models: Array<{ modelName: string; modelUrl: string }>
  nextPageToken?: string
}

t.test('GET /models pages with page_size and next_page_token, in name order', async (t) => {
  const mme = await startMme(t)
  const dir = await mme.artifact('a', 'artifact')
  for (const name of ['e', 'c', 'a', 'd', 'b']) t.equal((await mme.load(name, dir)).status, 200)
  const list = async (query: string) => (await fetch(`${mme.url}/models${query}`).then((r) => r.json())) as ListPage

  const first = await list('?page_size=2')
  t.same(first.models, [{ modelName: 'a', modelUrl: dir }, { modelName: 'b', modelUrl: dir }])
  t.type(first.nextPageToken, 'string')
  const second = await list(`?page_size=2&next_page_token=${first.nextPageToken}`)
  t.same(second.models.map((m) => m.modelName), ['c', 'd'])
  // A model of an earlier page going away does not shift the next page.
  t.equal((await fetch(`${mme.url}/models/a`, { method: 'DELETE' })).status, 200)
  const third = await list(`?page_size=2&next_page_token=${second.nextPageToken}`)
  t.same(third.models.map((m) => m.modelName), ['e'])
  t.notOk('nextPageToken' in third, 'no token on the last page')
  t.same((await list('')).models.map((m) => m.modelName), ['b', 'c', 'd', 'e'], 'one page by default')
})

t.test('a bad page_size or next_page_token is a 400', async (t) => {
  const mme = await startMme(t)
  for (const query of ['?page_size=0', '?page_size=abc', '?page_size=1001', '?next_page_token=%25%25', '?next_page_token=']) {
    t.equal((await fetch(`${mme.url}/models${query}`)).status, 400, query)
  }
})

t.test('a second load of a model that is still loading is a 409', async (t) => {
  const mme = await startMme(t)
  const dir = await mme.artifact('gated', 'gated')
  const first = mme.load('g', dir)
  t.ok(await eventually(() => globalThis.__modelHostFixture?.releaseModel !== undefined), 'modelFn started')
  const second = await mme.load('g', dir)
  t.equal(second.status, 409)
  t.match(await second.json(), { error: /is being loaded/ })
  t.equal((await fetch(`${mme.url}/models/g`)).status, 404, 'not listed until loaded')
  globalThis.__modelHostFixture!.releaseModel!()
  t.equal((await first).status, 200)
  t.equal((await fetch(`${mme.url}/models/g`)).status, 200)
})

t.test('an unload waits for the invocations still running, then runs unloadFn', async (t) => {
  const mme = await startMme(t)
  const dir = await mme.artifact('gated', 'artifact-gated')
  const events: string[] = []
  globalThis.__modelHostFixture = { unloaded: () => events.push('unloadFn') }
  t.equal((await mme.load('m', dir)).status, 200)
  const invocation = post(`${mme.url}/models/m/invoke`, 'x').then((r) => {
    events.push('invocation answered')
    return r
  })
  t.ok(await eventually(() => globalThis.__modelHostFixture?.proceed !== undefined), 'the invocation is running')
  const unload = fetch(`${mme.url}/models/m`, { method: 'DELETE' }).then((r) => {
    events.push('unload answered')
    return r
  })
  // Once the unload has started, the model is gone for new requests...
  t.ok(await eventually(async () => (await fetch(`${mme.url}/models/m`)).status === 404), 'no longer listed')
  t.equal((await post(`${mme.url}/models/m/invoke`, 'x')).status, 404, 'new invocations are refused')
  // ...but the running invocation keeps it until it is over.
  t.same(events, [], 'unloadFn has not run and the unload has not answered yet')
  globalThis.__modelHostFixture!.proceed!()
  const [answered, unloaded] = await Promise.all([invocation, unload])
  t.equal(answered.status, 200)
  t.equal(answered.body, 'done')
  t.equal(unloaded.status, 200)
  t.same(events.slice(0, 2).sort(), ['invocation answered', 'unloadFn'].sort())
  t.equal(events.at(-1), 'unload answered')
})

t.test('closing the host runs unloadFn for every loaded model', async (t) => {
  const dir = t.testdir({ handlers: {}, models: {} })
  const handlersDir = await writeFixtureHandlers(join(dir, 'handlers'))
  const host = await startModelHost({ handlersDir, containers: [{ name: 'mme', multiModel: true }] })
  const modelDir = await writeArtifact(join(dir, 'models', 'a'), { handler: 'artifact' }, {})
  const unloaded: string[] = []
  globalThis.__modelHostFixture = { unloaded: (d) => unloaded.push(d) }
  t.teardown(() => {
    globalThis.__modelHostFixture = undefined
  })
  for (const name of ['x', 'y']) {
    const response = await fetch(`${host.containers[0]!.url}/models`, { method: 'POST', body: JSON.stringify({ model_name: name, url: modelDir }) })
    t.equal(response.status, 200)
  }
  await host.close()
  t.same(unloaded, [modelDir, modelDir])
})
