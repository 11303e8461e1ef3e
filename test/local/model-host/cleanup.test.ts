import { request } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { eventually, listFiles, post, writeFixtureHandlers } from './fixtures.js'

async function startHost(t: Test) {
  const base = t.testdir({ tmp: {}, handlers: {} })
  const tmpDir = join(base, 'tmp')
  const handlersDir = await writeFixtureHandlers(join(base, 'handlers'))
  const real = await startModelHost({ tmpDir, containers: [{ name: 'text', handler: 'summarize' }, { name: 'video', handler: 'video-frames' }] })
  const fixtures = await startModelHost({ tmpDir, handlersDir, containers: [{ name: 'slow', handler: 'slow' }] })
  t.teardown(() => Promise.all([real.close(), fixtures.close()]))
  await Promise.all([real.ready, fixtures.ready])
  const urls = Object.fromEntries([...real.containers, ...fixtures.containers].map((c) => [c.name, c.url]))
  const isEmpty = async () => (await listFiles(tmpDir)).length === 0
  return { tmpDir, url: (name: string) => urls[name]!, isEmpty }
}

t.test('the temp file is removed after a successful invocation', async (t) => {
  const { url, isEmpty } = await startHost(t)
  const response = await post(`${url('text')}/invocations`, 'One sentence. Another one.', { 'Content-Type': 'text/plain' })
  t.equal(response.status, 200)
  t.ok(await eventually(isEmpty), 'no temp file left')
})

t.test('the temp file is removed after a handler error', async (t) => {
  const { url, isEmpty } = await startHost(t)
  t.equal((await post(`${url('text')}/invocations`, '{oops', { 'Content-Type': 'application/json' })).status, 400)
  t.equal((await post(`${url('video')}/invocations`, 'not a video', { 'Content-Type': 'video/mp4' })).status, 400)
  t.ok(await eventually(isEmpty), 'no temp file left')
})

t.test('a client that disconnects mid-upload leaves no temp file and a healthy host', async (t) => {
  const { tmpDir, url, isEmpty } = await startHost(t)
  const req = request(`${url('video')}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'video/mp4', 'Content-Length': String(64 * 1024 * 1024) },
  })
  req.on('error', () => {}) // the destroy below
  req.write(Buffer.alloc(1024 * 1024))
  t.ok(await eventually(async () => (await listFiles(tmpDir)).length === 1), 'the upload is being spooled')
  req.destroy()
  t.ok(await eventually(isEmpty), 'the partial temp file is removed')
  t.equal((await fetch(`${url('video')}/ping`)).status, 200)
})

t.test('a client that disconnects while the handler runs aborts ctx.signal and leaves no temp file', async (t) => {
  const { url, isEmpty } = await startHost(t)
  let onStarted!: () => void
  let onAborted!: (reason: unknown) => void
  const started = new Promise<void>((resolve) => (onStarted = resolve))
  const aborted = new Promise<unknown>((resolve) => (onAborted = resolve))
  globalThis.__modelHostFixture = { started: onStarted, aborted: onAborted }
  t.teardown(() => {
    globalThis.__modelHostFixture = undefined
  })
  const req = request(`${url('slow')}/invocations`, { method: 'POST', headers: { 'Content-Type': 'text/plain' } })
  req.on('error', () => {})
  req.end('some input')
  await started
  req.destroy()
  t.match(await aborted, { message: 'client disconnected' })
  t.ok(await eventually(isEmpty), 'no temp file left')
})
