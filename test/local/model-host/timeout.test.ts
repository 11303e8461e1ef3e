import { request } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { eventually, listFiles, post, writeFixtureHandlers } from './fixtures.js'

async function startHost(t: Test, handler: string) {
  const base = t.testdir({ tmp: {}, handlers: {} })
  const tmpDir = join(base, 'tmp')
  const handlersDir = await writeFixtureHandlers(join(base, 'handlers'))
  const host = await startModelHost({ tmpDir, handlersDir, containers: [{ name: handler, handler, invocationTimeoutMs: 300 }] })
  t.teardown(() => host.close())
  await host.ready
  return { url: `${host.containers[0]!.url}/invocations`, isEmpty: async () => (await listFiles(tmpDir)).length === 0 }
}

t.test('an invocation over invocationTimeoutMs is aborted and answered 504', async (t) => {
  const { url, isEmpty } = await startHost(t, 'slow')
  let onAborted!: (reason: unknown) => void
  const aborted = new Promise<unknown>((resolve) => (onAborted = resolve))
  globalThis.__modelHostFixture = { aborted: onAborted }
  t.teardown(() => {
    globalThis.__modelHostFixture = undefined
  })
  const response = await post(url, 'input', { 'Content-Type': 'text/plain' })
  t.equal(response.status, 504)
  t.equal(response.headers['content-length'], String(Buffer.byteLength(response.body)))
  t.same(JSON.parse(response.body), { error: 'the model did not answer within 300 ms' })
  t.match(await aborted, { name: 'InvocationTimeoutError' }, 'the handler saw its signal abort')
  t.ok(await eventually(isEmpty), 'no temp file left')
})

t.test('a handler that ignores its signal still gets a 504', async (t) => {
  const { url, isEmpty } = await startHost(t, 'stubborn')
  const response = await post(url, 'input', { 'Content-Type': 'text/plain' })
  t.equal(response.status, 504)
  t.ok(await eventually(isEmpty), 'no temp file left')
})

t.test('a timeout during the upload is still answered 504', async (t) => {
  const { url, isEmpty } = await startHost(t, 'echo')
  const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Type': 'text/plain', 'Content-Length': '1048576' } })
    req.on('error', reject)
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
    req.write('only the first bytes') // and never the rest
  })
  t.equal(response.status, 504)
  t.match(JSON.parse(response.body), { error: /did not answer within 300 ms/ })
  t.ok(await eventually(isEmpty), 'the partial temp file is removed')
})
