import t from 'tap'
import { startMetricsServer } from '../src/metrics-server.js'
import { buildTestApp } from './helpers/app.js'

t.test('with server.metricsPort, /metrics moves to a port of its own', async (t) => {
  const { app } = await buildTestApp({ configure: (c) => ({ ...c, server: { ...c.server, metricsPort: 0 } }) })
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'not on the gateway port')
  await app.inject({ method: 'GET', url: '/healthz' })
  const server = await startMetricsServer(app.metrics, '127.0.0.1', 0)
  t.teardown(() => server.close())
  const res = await fetch(server.url)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain/)
  t.match(await res.text(), /http_request_duration_seconds_count\{[^}]*route="\/healthz"/)
  t.equal((await fetch(server.url.replace('/metrics', '/other'))).status, 404)
})

t.test('without it, /metrics is on the gateway port', async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200)
})
