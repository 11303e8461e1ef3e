import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { HttpCase } from './arbitraries.js'
import type { RawCase } from './framing.js'
import { sendCase, type SendContext } from './send.js'

/** The fuzz checks themselves can fail: against a server that hangs, fails or answers in plain text. */
async function listen(t: Test, handler: Parameters<typeof createServer>[1]): Promise<SendContext> {
  const server: Server = createServer(handler!)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const jobs = { completed: 'c', failed: 'f', latest: () => 'l' }
  return { host: '127.0.0.1', port: (server.address() as AddressInfo).port, budgetMs: 300, authHeaders: [['authorization', 'Bearer k']], jobs }
}

const get: HttpCase = { via: 'http', family: 'test', method: 'GET', path: '/jobs/{job:completed}', headers: [], chunked: false }
const raw: RawCase = { via: 'raw', family: 'test', segments: ['GET /x HTTP/1.1\r\nHost: a\r\n\r\n'], end: 'wait', heads: [false] }

t.test('a request that gets no answer is a hang, over node:http and raw sockets', async (t) => {
  const sc = await listen(t, () => undefined)
  t.match((await sendCase(get, sc)).failures, [/^hang/])
  t.match((await sendCase(raw, sc)).failures, [/^hang/])
})

t.test('a 5xx fails, and so does an error that is not problem+json', async (t) => {
  let seen: string[] = []
  const sc = await listen(t, (req, res) => {
    seen = [req.url ?? '', req.headers.authorization ?? '']
    res.writeHead(500, { 'content-type': 'application/problem+json' }).end('{"code":"internal_error"}')
  })
  const out = await sendCase(get, sc)
  t.same(out.failures, ['5xx: 500 internal_error'])
  t.same(seen, ['/jobs/c', 'Bearer k'], 'job stand-ins resolved, auth headers added')
  const sc2 = await listen(t, (_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('nope'))
  t.match((await sendCase(raw, sc2)).failures, [/^404 is not application\/problem\+json/])
})

t.test('a problem+json 4xx passes and a 202 yields its job id', async (t) => {
  const sc = await listen(t, (req, res) => {
    if (req.method === 'POST') return void res.writeHead(202, { 'content-type': 'application/json', location: '/jobs/j1' }).end('{"id":"j1"}')
    res.writeHead(404, { 'content-type': 'application/problem+json' }).end('{"code":"job_not_found"}')
  })
  const four = await sendCase(get, sc)
  t.same([four.outcome, four.failures], ['404 job_not_found', []])
  const accepted = await sendCase({ ...get, method: 'POST', body: 'x' }, sc)
  t.same([accepted.outcome, accepted.accepted, accepted.failures], ['202', ['j1'], []])
})

t.test('bytes after an answer on a connection that stays open are a framing error', async (t) => {
  const server = createServer()
  server.on('connection', (socket) => socket.once('data', () => socket.write('HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\nContent-Length: 2\r\n\r\n{}junk')))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => (server.closeAllConnections(), server.close()))
  const sc: SendContext = { host: '127.0.0.1', port: (server.address() as AddressInfo).port, budgetMs: 1000, authHeaders: [], jobs: { completed: 'c', failed: 'f', latest: () => 'l' } }
  const out = await sendCase(raw, sc)
  t.match(out.failures, [/problem without a code/, /4 bytes that are not an answer/])
})
