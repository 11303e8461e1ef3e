import pino from 'pino'
import t from 'tap'
import { createIdempotency, idempotencyKeyOf } from '../../src/services/idempotency.js'
import { MemoryStore } from '../helpers/fakes.js'

function setup() {
  const store = new MemoryStore()
  let now = Date.parse('2026-11-29T10:00:00Z')
  const idem = createIdempotency({
    store,
    storage: { bucket: 'b', prefix: 'p/' },
    ttlSeconds: 86_400,
    readBudgetMs: 1000,
    logger: pino({ level: 'silent' }),
    clock: () => now,
  })
  return { store, idem, advance: (ms: number) => (now += ms) }
}
const req = { tenant: 'acme', key: 'k', model: 'summarize', requestBytes: 10 }

t.test('claimed, then finished: a retry replays until the key lapses after its TTL', async (t) => {
  const { idem, advance } = setup()
  const first = await idem.claim(req)
  t.equal(first.kind, 'claimed')
  if (first.kind === 'claimed') await first.finish('job-1')
  t.same(await idem.claim(req), { kind: 'replay', jobId: 'job-1' })
  t.same(await idem.claim({ ...req, requestBytes: undefined }), { kind: 'replay', jobId: 'job-1' }, 'a retry without Content-Length replays')
  advance(86_400_000 + 1)
  t.equal((await idem.claim(req)).kind, 'claimed', 'a lapsed key starts a new job')
})

t.test('a pending key is in use until its heartbeat goes stale (the gateway died), then it is taken over', async (t) => {
  const { idem, advance } = setup()
  const first = await idem.claim(req)
  t.equal(first.kind, 'claimed')
  await t.rejects(idem.claim(req), { code: 'idempotency_key_in_use', statusCode: 409 })
  await t.rejects(idem.claim({ ...req, model: 'video-frames' }), { code: 'idempotency_key_reused', statusCode: 422 }, 'mismatch is told first')
  advance(3 * 60_000 + 1)
  t.equal((await idem.claim(req)).kind, 'claimed')
})

t.test('a released key is free; a corrupt marker is replaced', async (t) => {
  const { idem, store } = setup()
  const first = await idem.claim(req)
  if (first.kind === 'claimed') await first.release()
  t.same(store.keys(), [])
  t.equal((await idem.claim(req)).kind, 'claimed')
  const [key] = store.keys()
  store.objects.set(key!, { body: Buffer.from('{not json'), contentType: 'application/json', version: 7 })
  t.equal((await idem.claim({ ...req, key: 'k' })).kind, 'claimed')
})

t.test('the header: 1-255 printable ASCII characters, once', async (t) => {
  t.equal(idempotencyKeyOf(undefined), undefined)
  t.equal(idempotencyKeyOf('a-b_c.9'), 'a-b_c.9')
  for (const bad of ['', ' x', 'x'.repeat(256), 'é', ['a', 'b']]) t.throws(() => idempotencyKeyOf(bad), { code: 'invalid_idempotency_key' })
})
