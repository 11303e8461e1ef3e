import pino from 'pino'
import t from 'tap'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { buildTestApp, testModels } from '../helpers/app.js'

t.test("logs name the key's id, never the key", async (t) => {
  const lines: string[] = []
  const { app } = await buildTestApp({ configure: withKeys(), logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) })
  t.teardown(() => app.close())
  // Models of the route-test app: the keys' "*" lists cover them.
  t.ok(Object.keys(testModels).length > 0)
  const ok = await app.inject({ method: 'GET', url: '/models', headers: { 'x-api-key': KEYS.acmeWeb } })
  t.equal(ok.statusCode, 200)
  const bad = await app.inject({ method: 'GET', url: '/models', headers: bearer(`${KEYS.globex}-typo`) })
  t.equal(bad.statusCode, 401)
  const all = lines.join('\n')
  t.match(all, /"keyId":"acme-web"/)
  for (const key of Object.values(KEYS)) t.notOk(all.includes(key.slice(8)), 'no key (or a typo of one) in the logs')
})

t.test('HTML the gateway serves gets helmet headers; JSON answers do not carry a page CSP', async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  app.get('/page', { config: { public: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send('<!doctype html><p>hi</p>'))
  const page = await app.inject({ method: 'GET', url: '/page' })
  t.match(page.headers['content-security-policy'], /default-src 'self'/)
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.equal(page.headers['x-frame-options'], 'SAMEORIGIN')
  const json = await app.inject({ method: 'GET', url: '/models' })
  t.equal(json.headers['content-security-policy'], undefined)
})

t.test('a saturated event loop sheds requests with 503 overloaded; health still answers', async (t) => {
  const { app } = await buildTestApp({ configure: (c) => ({ ...c, limits: { ...c.limits, maxEventLoopDelayMs: 20 } }) })
  t.teardown(() => app.close())
  await app.ready()
  // Ticks of 100 ms for over a second: the mean event-loop delay of the next sample is far above 20 ms.
  const until = Date.now() + 1500
  while (Date.now() < until) {
    const tick = Date.now() + 100
    while (Date.now() < tick);
    await new Promise((r) => setImmediate(r))
  }
  await new Promise((r) => setTimeout(r, 10))
  const shed = await app.inject({ method: 'GET', url: '/models' })
  t.equal(shed.statusCode, 503)
  t.match(shed.json(), { code: 'overloaded' })
  t.equal(shed.headers['retry-after'], '5')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  // Idle again, the next samples clear it.
  let status = 503
  for (let i = 0; i < 60 && status === 503; i++) {
    await new Promise((r) => setTimeout(r, 100))
    status = (await app.inject({ method: 'GET', url: '/models' })).statusCode
  }
  t.equal(status, 200)
  t.match(await (await app.inject({ method: 'GET', url: '/metrics' })).body, /sagegate_shed_total [1-9]/)
})

t.test('auth.metricsRequireKey: /metrics needs a key; health and readiness never do', async (t) => {
  const { app } = await buildTestApp({ configure: (c) => withKeys()({ ...c, auth: { ...c.auth, metricsRequireKey: true } }) })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: bearer(KEYS.acmeBatch) })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})
