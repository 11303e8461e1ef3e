import t from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { post, writeFixtureHandlers } from './fixtures.js'

t.test('GET /ping answers 200 once the models are loaded', async (t) => {
  const host = await startModelHost({
    containers: [
      { name: 'video', handler: 'video-frames' },
      { name: 'text', handler: 'summarize' },
    ],
  })
  t.teardown(() => host.close())
  await host.ready
  t.equal(host.containers.length, 2)
  t.not(host.containers[0]!.url, host.containers[1]!.url, 'each container has its own port')
  for (const { url } of host.containers) {
    t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    const response = await fetch(`${url}/ping`)
    t.equal(response.status, 200)
    t.same(await response.json(), { status: 'healthy' })
  }
})

t.test('/ping is 503 and /invocations refused while modelFn runs, then 200', async (t) => {
  const handlersDir = await writeFixtureHandlers(t.testdir())
  const host = await startModelHost({ handlersDir, containers: [{ name: 'gated', handler: 'gated' }] })
  t.teardown(() => host.close())
  const { url } = host.containers[0]!
  t.equal((await fetch(`${url}/ping`)).status, 503)
  t.equal((await post(`${url}/invocations`, '{}', { 'Content-Type': 'application/json' })).status, 503)
  globalThis.__modelHostFixture?.releaseModel?.()
  await host.ready
  t.equal((await fetch(`${url}/ping`)).status, 200)
})

t.test('a modelFn that fails leaves /ping at 503 and rejects `ready`', async (t) => {
  const handlersDir = await writeFixtureHandlers(t.testdir())
  const host = await startModelHost({ handlersDir, containers: [{ name: 'broken', handler: 'broken-model' }] })
  t.teardown(() => host.close())
  await t.rejects(host.ready, { message: 'weights missing' })
  const ping = await fetch(`${host.containers[0]!.url}/ping`)
  t.equal(ping.status, 503)
  t.match(await ping.json(), { status: 'failed', error: 'weights missing' })
  const invocation = await post(`${host.containers[0]!.url}/invocations`, 'x', { 'Content-Type': 'text/plain' })
  t.equal(invocation.status, 503)
})

t.test('unknown paths are 404 and wrong methods 405 with Allow', async (t) => {
  const handlersDir = await writeFixtureHandlers(t.testdir())
  const host = await startModelHost({ handlersDir, containers: [{ name: 'echo', handler: 'echo' }] })
  t.teardown(() => host.close())
  const { url } = host.containers[0]!
  t.equal((await fetch(`${url}/models`)).status, 404)
  const wrongMethod = await fetch(`${url}/invocations`)
  t.equal(wrongMethod.status, 405)
  t.equal(wrongMethod.headers.get('allow'), 'POST')
})
