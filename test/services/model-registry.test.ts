import t, { type Test } from 'tap'
import { parseModels, parseMultiModelEndpoints } from '../../src/config.js'
import { errors } from '../../src/errors.js'
import { createModelRegistry } from '../../src/services/model-registry.js'
import { MemoryStore } from '../helpers/fakes.js'

const put = (store: MemoryStore, key: string) => store.putSmall({ bucket: 'models', key }, 'artifact', 'application/gzip')

async function setup(_t: Test) {
  let now = 1_000_000
  const store = new MemoryStore()
  await put(store, 'mme/echo.tar.gz')
  await put(store, 'mme/sentiment.tar.gz')
  await put(store, 'mme/README.md')
  await put(store, 'mme/nested/deep.tar.gz')
  await put(store, 'mme/Bad Name.tar.gz')
  const registry = createModelRegistry({
    models: parseModels({ sentiment: { mode: 'realtime', endpointName: 'other-ep', targetModel: 'v2/sentiment.tar.gz' } }),
    multiModelEndpoints: parseMultiModelEndpoints({ 'mme-ep': { modelDataUrl: 's3://models/mme/', discoveryTtlMs: 30_000 } }),
    store,
    clock: () => now,
  })
  return { store, registry, advance: (ms: number) => (now += ms) }
}

t.test('artifacts under the prefix are routable by name; explicit entries win', async (t) => {
  const { registry } = await setup(t)
  t.same((await registry.list()).map((m) => m.name), ['echo', 'sentiment'], 'no README, nested or invalid names')
  t.match(await registry.get('echo'), { mode: 'realtime', endpointName: 'mme-ep', targetModel: 'echo.tar.gz', discovered: true })
  t.match(await registry.get('sentiment'), { endpointName: 'other-ep', targetModel: 'v2/sentiment.tar.gz' })
})

t.test('a new artifact becomes routable without a restart', async (t) => {
  const { store, registry, advance } = await setup(t)
  await registry.list()
  await put(store, 'mme/language-id.tar.gz')
  advance(6_000) // past the miss-refresh interval, well inside the listing TTL
  t.match(await registry.get('language-id'), { targetModel: 'language-id.tar.gz' })
})

t.test('unknown names are 404 and do not list again at once', async (t) => {
  const { store, registry } = await setup(t)
  await registry.list()
  let listings = 0
  const list = store.listKeys.bind(store)
  store.listKeys = async (...a) => (listings++, list(...a))
  await t.rejects(registry.get('nope'), /No model named/)
  await t.rejects(registry.get('nope'), /No model named/)
  t.equal(listings, 0, 'the listing is fresh: no new S3 calls for misses')
})

t.test('a failed listing keeps the last one', async (t) => {
  const { store, registry, advance } = await setup(t)
  await registry.list()
  store.listKeys = async () => {
    throw new Error('S3 down')
  }
  advance(60_000)
  t.match(await registry.get('echo'), { targetModel: 'echo.tar.gz' })
})

t.test('a name not in the listing while S3 fails is the storage error, not a 404', async (t) => {
  const { store, registry, advance } = await setup(t)
  await registry.list()
  store.listKeys = async () => {
    throw errors.upstreamTimeout('Storage', 5)
  }
  advance(60_000)
  await t.rejects(registry.get('not-listed'), { code: 'upstream_timeout' })
  t.match(await registry.get('echo'), { targetModel: 'echo.tar.gz' }, 'a known model is still served')
})
