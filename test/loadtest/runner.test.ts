import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { runLoadTest } from '../../src/loadtest/runner.js'

/** A stand-in gateway on a free port. */
async function fakeGateway(t: Test, handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => handle(req, res, Buffer.concat(chunks)))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const body = { bytes: Buffer.from('hello'), contentType: 'text/plain' }

t.test('predict: statuses and dropped connections are counted as errors by status', async (t) => {
  let n = 0
  const seen: string[] = []
  const url = await fakeGateway(t, (req, res, received) => {
    seen.push(`${req.method} ${req.url} ${req.headers['content-type']} ${req.headers.authorization} ${received.toString()}`)
    n++
    if (n % 10 === 3) return void res.writeHead(503).end('busy')
    if (n % 10 === 7) return void req.socket.destroy()
    res.writeHead(200, { 'content-type': 'text/plain' }).end(received)
  })
  const report = await runLoadTest({ url, model: 'echo', mode: 'predict', concurrency: [1, 3], requests: 40, warmupSeconds: 0, body, apiKey: 'key', pricePerHour: 1.2 })
  t.equal(seen[0], 'POST /models/echo/predict text/plain Bearer key hello')
  t.same(report.levels.map((l) => l.concurrency), [1, 3])
  for (const level of report.levels) {
    t.equal(level.requests, 40)
    t.equal(level.errors, 8)
    t.same(level.errorsByStatus, { '0': 4, '503': 4 })
    t.ok(level.tps > 0 && level.p50Ms! > 0 && typeof level.costPer1M === 'number')
  }
})

t.test('jobs: accepted jobs are followed with long-polls to their end', async (t) => {
  let jobs = 0
  const endsAt = new Map<string, number>()
  const url = await fakeGateway(t, (req, res) => {
    if (req.method === 'GET' && req.url === '/models/summarize') return void res.end('{}')
    if (req.method === 'POST') {
      const id = `job${++jobs}`
      endsAt.set(id, 0)
      return void res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id, status: 'in_progress' }))
    }
    const m = /^\/jobs\/(\w+)\?wait=60$/.exec(req.url ?? '')
    let end = endsAt.get(m?.[1] ?? '')
    if (end === undefined) return void res.writeHead(404).end()
    // Each job ends 150 ms after its first wait arrives, which the client sends only after its 202:
    // the completion it measures is then at least 150 ms however slow the machine.
    if (end === 0) endsAt.set(m![1]!, (end = Date.now() + 150))
    // Held until the job ends, as the gateway does; job3 fails.
    setTimeout(() => res.end(JSON.stringify({ id: m![1], status: m![1] === 'job3' ? 'failed' : 'completed' })), Math.max(0, end - Date.now()))
  })
  const report = await runLoadTest({ url, model: 'summarize', mode: 'jobs', concurrency: [2], requests: 6, warmupSeconds: 0, body })
  const [level] = report.levels
  t.match(level, { concurrency: 2, requests: 6, errors: 0, completed: 5, failed: 1, expired: 0, lost: 0, unfinished: 0 })
  t.ok(level!.completionP50Ms! >= 140, `completion p50 ${level!.completionP50Ms} ms`)
  t.ok(level!.drainSeconds! >= 0.14, `drain ${level!.drainSeconds} s`)
  t.equal(level!.acceptP50Ms, level!.p50Ms)
})

t.test('jobs: a job that never ends is unfinished, one whose status cannot be read is lost', async (t) => {
  let jobs = 0
  const url = await fakeGateway(t, (req, res) => {
    if (req.method === 'GET' && req.url === '/models/summarize') return void res.end('{}')
    if (req.method === 'POST') return void res.writeHead(202).end(JSON.stringify({ id: `job${++jobs}` }))
    if (req.url?.startsWith('/jobs/job1?')) return void res.writeHead(503).end()
    setTimeout(() => res.end(JSON.stringify({ status: 'in_progress' })), 100)
  })
  const report = await runLoadTest({ url, model: 'summarize', mode: 'jobs', concurrency: [1], requests: 2, warmupSeconds: 0, body, followSeconds: 4 })
  t.match(report.levels[0], { requests: 2, errors: 0, completed: 0, lost: 1, unfinished: 1, drainSeconds: null, completionP50Ms: null })
})
