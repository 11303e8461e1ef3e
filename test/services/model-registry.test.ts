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
  const list = store.list.bind(store)
  store.list = async (...a: Parameters<typeof list>) => (listings++, list(...a))
  await t.rejects(registry.get('nope'), /No model named/)
  await t.rejects(registry.get('nope'), /No model named/)
  t.equal(listings, 0, 'the listing is fresh: no new S3 calls for misses')
})

t.test('a failed listing keeps the last one', async (t) => {
  const { store, registry, advance } = await setup(t)
  await registry.list()
  store.list = async () => {
    throw new Error('S3 down')
  }
  advance(60_000)
  t.match(await registry.get('echo'), { targetModel: 'echo.tar.gz' })
})

t.test('a name not in the listing while S3 fails is the storage error, not a 404', async (t) => {
  const { store, registry, advance } = await setup(t)
  await registry.list()
  store.list = async () => {
    throw errors.upstreamTimeout('Storage', 5)
  }
  advance(60_000)
  await t.rejects(registry.get('not-listed'), { code: 'upstream_timeout' })
  t.match(await registry.get('echo'), { targetModel: 'echo.tar.gz' }, 'a known model is still served')
})

t.test("an artifact's metadata declares its content types and description; only new or changed artifacts are read again", async (t) => {
  const { store, registry, advance } = await setup(t)
  const echo = store.objects.get('models/mme/echo.tar.gz')!
  echo.metadata = { 'sagegate-content-types': 'Text/Plain, application/json', 'sagegate-description': 'Says it back' }
  t.match(await registry.get('echo'), { contentTypes: ['text/plain', 'application/json'], description: 'Says it back' })
  const listed = (await registry.list()).find((m) => m.name === 'echo')
  t.same(listed?.contentTypes, ['text/plain', 'application/json'], 'GET /models shows them')
  const heads = store.headCalls
  advance(31_000)
  await registry.list()
  await new Promise((r) => setTimeout(r, 10)) // the background refresh
  t.equal(store.headCalls, heads, 'unchanged artifacts (same ETag) are not read again')
  await store.putSmall({ bucket: 'models', key: 'mme/echo.tar.gz' }, 'artifact v2', 'application/gzip')
  store.objects.get('models/mme/echo.tar.gz')!.metadata = { 'sagegate-content-types': 'image/png' }
  advance(31_000)
  await registry.list()
  await new Promise((r) => setTimeout(r, 10))
  t.match(await registry.get('echo'), { contentTypes: ['image/png'] }, 'a replaced artifact is read again')
  t.equal(store.headCalls, heads + 1)
})

t.test('an artifact without a declaration, or with a bad one, takes the endpoint defaults', async (t) => {
  const store = new MemoryStore()
  await put(store, 'mme/a.tar.gz')
  await put(store, 'mme/b.tar.gz')
  store.objects.get('models/mme/b.tar.gz')!.metadata = { 'sagegate-content-types': 'not a type' }
  const warnings: string[] = []
  const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as import('pino').Logger
  const registry = createModelRegistry({
    models: {},
    multiModelEndpoints: parseMultiModelEndpoints({ 'mme-ep': { modelDataUrl: 's3://models/mme/', contentTypes: ['text/plain'] } }),
    store,
    logger,
  })
  t.match(await registry.get('a'), { contentTypes: ['text/plain'] })
  t.match(await registry.get('b'), { contentTypes: ['text/plain'] })
  t.match(warnings, [/sagegate-content-types is not a comma-separated list of media types/])
})

t.test('an artifact whose HEAD fails keeps the listing going', async (t) => {
  const { store, registry } = await setup(t)
  store.head = async () => {
    throw errors.upstreamUnavailable('Storage', 5)
  }
  t.same((await registry.list()).map((m) => m.name), ['echo', 'sentiment'])
  t.same((await registry.get('echo')).contentTypes, undefined, 'no declaration: the endpoint default (*/*)')
})
