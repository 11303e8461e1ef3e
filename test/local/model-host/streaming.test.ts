// Streamed answers (outputFn returning { stream }): chunked, chunk by chunk, and cut when they break.
import type { ClientRequest } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { eventually, post, streamPost, writeFixtureHandlers } from './fixtures.js'

async function startHost(t: Test, handler: string, invocationTimeoutMs?: number) {
  const base = t.testdir({ handlers: {}, tmp: {} })
  const handlersDir = await writeFixtureHandlers(join(base, 'handlers'))
  const host = await startModelHost({
    handlersDir,
    tmpDir: join(base, 'tmp'),
    containers: [{ name: handler, handler, ...(invocationTimeoutMs ? { invocationTimeoutMs } : {}) }],
  })
  t.teardown(() => host.close())
  t.teardown(() => {
    globalThis.__modelHostFixture = undefined
  })
  await host.ready
  return `${host.containers[0]!.url}/invocations`
}

t.test('each chunk is sent as it is produced, chunked, without a Content-Length', async (t) => {
  const url = await startHost(t, 'stream-gated')
  let firstSeen: string | undefined
  const response = await streamPost(url, 'x', { 'Content-Type': 'text/plain' }, (chunk) => {
    if (firstSeen !== undefined) return
    firstSeen = chunk.toString()
    // The handler is blocked after its first chunk until this runs: the chunk cannot have waited for the rest.
    void eventually(() => globalThis.__modelHostFixture?.proceed !== undefined).then(() => globalThis.__modelHostFixture?.proceed?.())
  })
  t.equal(firstSeen, 'one\n', 'the first chunk arrived alone, before the handler produced the next')
  t.equal(response.status, 200)
  t.equal(response.headers['transfer-encoding'], 'chunked')
  t.notOk(response.headers['content-length'])
  t.equal(response.headers['content-type'], 'text/plain')
  t.ok(response.complete, 'the body ended with its terminating chunk')
  t.equal(Buffer.concat(response.chunks).toString(), 'one\ntwo\nthree\n')
})

t.test('an iterator that fails after its first chunk cuts the connection', async (t) => {
  const url = await startHost(t, 'stream-broken')
  const response = await streamPost(url, 'x', { 'Content-Type': 'text/plain' })
  t.equal(response.status, 200, 'the status was already out')
  t.equal(Buffer.concat(response.chunks).toString(), 'first\n')
  t.notOk(response.complete, 'no terminating chunk: the body is incomplete')
  t.ok(response.aborted, 'the client saw the response abort')
})

t.test('the invocation timeout also cuts a streamed answer that stalls after its first chunk', async (t) => {
  // Generous: the first chunk must be out before the timeout for this case to be about streaming.
  const url = await startHost(t, 'stream-gated', 2000)
  const response = await streamPost(url, 'x', { 'Content-Type': 'text/plain' })
  t.equal(response.status, 200)
  t.equal(Buffer.concat(response.chunks).toString(), 'one\n', 'the handler never let the rest out')
  t.notOk(response.complete, 'no terminating chunk')
  t.ok(response.aborted)
})

t.test('an iterator that fails before its first chunk is an ordinary error response', async (t) => {
  const url = await startHost(t, 'stream-fails-early')
  const response = await post(url, 'x', { 'Content-Type': 'text/plain' })
  t.equal(response.status, 422)
  t.equal(response.headers['content-length'], String(Buffer.byteLength(response.body)))
  t.same(JSON.parse(response.body), { error: 'nothing to stream' })
})

t.test('a client that goes away aborts ctx.signal and closes the iterator', async (t) => {
  const url = await startHost(t, 'stream-endless')
  let abortReason: unknown
  let closed = false
  globalThis.__modelHostFixture = { aborted: (reason) => (abortReason = reason), closed: () => (closed = true) }
  const response = await streamPost(url, 'x', { 'Content-Type': 'text/plain' }, (_chunk, _res, req) => req.destroy())
  t.notOk(response.complete)
  t.ok(await eventually(() => closed), 'the iterator was closed (its finally ran)')
  t.match(abortReason, { name: 'ClientGoneError' })
})

t.test('a client that stops reading stops the iterator (backpressure)', async (t) => {
  const url = await startHost(t, 'stream-endless')
  let produced = 0
  let closed = false
  globalThis.__modelHostFixture = { produced: (count) => (produced = count), closed: () => (closed = true) }
  let request: ClientRequest | undefined
  let paused!: () => void
  const stalled = new Promise<void>((resolve) => (paused = resolve))
  const done = streamPost(url, 'x', { 'Content-Type': 'text/plain' }, (_chunk, res, req) => {
    if (request !== undefined) return
    request = req
    res.pause()
    paused()
  })
  await stalled
  // Wait until production stops moving (or runs out). Without backpressure, all 1024 chunks (64 MiB)
  // would be made at once, whatever the client does.
  let last = -1
  let steady = 0
  await eventually(() => {
    steady = produced === last ? steady + 1 : 0
    last = produced
    return steady >= 10 || produced === 1024
  }, 60_000)
  t.ok(produced < 1024, `production stopped while the client was not reading (${produced} of 1024 chunks made)`)
  request!.destroy()
  const response = await done
  t.notOk(response.complete)
  t.ok(await eventually(() => closed), 'the iterator was closed once the client left')
})
