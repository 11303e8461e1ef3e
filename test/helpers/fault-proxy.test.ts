import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer as createHttpServer, request, type IncomingMessage } from 'node:http'
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { buffer } from 'node:stream/consumers'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'

/** Long enough for a forwarded byte to arrive on loopback many times over; used only to show that none does. */
const QUIET_MS = 300

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}

/** `promise`, or a rejection once `ms` have passed: a broken proxy fails the test instead of hanging it. */
function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

/** Listens on a free loopback port; at teardown drops the server's connections, then closes it. */
async function listen(t: Test, server: Server, dropConnections = () => {}): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    dropConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return (server.address() as AddressInfo).port
}

/** An HTTP target: `/echo` streams the body back, `/digest` answers its length and SHA-256, anything else never answers. */
async function startHttpTarget(t: Test) {
  const target = { url: '', requests: 0, resets: 0 }
  const server = createHttpServer((req, res) => {
    target.requests++
    if (req.url === '/echo') return void req.pipe(res)
    if (req.url === '/digest') return void buffer(req).then((b) => res.end(`${b.length} ${sha256(b)}`))
  })
  server.on('connection', (socket: Socket) => socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') target.resets++
  }))
  target.url = `http://127.0.0.1:${await listen(t, server, () => server.closeAllConnections())}`
  return target
}

/** A raw TCP target that records every byte it receives and keeps its sockets for the test to write on. */
async function startTcpTarget(t: Test) {
  const target = { port: 0, chunks: [] as Buffer[], sockets: [] as Socket[], ended: 0, received: () => Buffer.concat(target.chunks) }
  const server = createTcpServer({ allowHalfOpen: true }, (socket) => {
    target.sockets.push(socket)
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => target.chunks.push(chunk))
    socket.on('end', () => target.ended++)
  })
  target.port = await listen(t, server, () => target.sockets.forEach((s) => s.destroy()))
  return target
}

async function openClient(t: Test, port: number) {
  const socket = connect(port, '127.0.0.1')
  const client = { socket, chunks: [] as Buffer[], ended: false, error: '', received: () => Buffer.concat(client.chunks).toString() }
  socket.on('data', (chunk: Buffer) => client.chunks.push(chunk))
  socket.on('end', () => (client.ended = true))
  socket.on('error', (err: NodeJS.ErrnoException) => (client.error = err.code ?? err.message))
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  return client
}

async function startProxy(t: Test, target: Parameters<typeof startFaultProxy>[0]): Promise<FaultProxy> {
  const proxy = await startFaultProxy(target)
  t.teardown(() => proxy.close())
  return proxy
}

/** One POST on a fresh connection (no agent, so no pooled socket hides what the proxy does). */
async function send(url: string, body: Buffer | string): Promise<{ status: number; body: Buffer }> {
  const req = request(url, { method: 'POST', agent: false })
  const responded = once(req, 'response') as Promise<[IncomingMessage]>
  req.on('error', () => {}) // `once` reports errors before the response; the body read reports later ones
  req.end(body)
  const [res] = await responded
  return { status: res.statusCode ?? 0, body: await buffer(res) }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

t.test('forwards an HTTP exchange byte for byte, several MiB each way', async (t) => {
  const target = await startHttpTarget(t)
  const proxy = await startProxy(t, target.url)
  const body = randomBytes(4 * 1024 * 1024)
  const res = await send(`${proxy.url}/echo`, body)
  t.equal(res.status, 200)
  t.ok(res.body.equals(body), 'the echoed body is byte-exact')
  t.ok(proxy.stats().bytesUp > body.length, 'request head and body counted upstream')
  t.ok(proxy.stats().bytesDown > body.length, 'response head and body counted downstream')
  await until(() => proxy.stats().open === 0) // Connection: close, so both sides FIN and the pair is gone
})

t.test('a request started during a stall gets no answer until pass()', async (t) => {
  const target = await startHttpTarget(t)
  const proxy = await startProxy(t, target.url)
  proxy.stall()
  const answer = send(`${proxy.url}/echo`, 'hello')
  await until(() => proxy.stats().accepted === 1)
  const first = await Promise.race([answer.then(() => 'answered'), sleep(QUIET_MS).then(() => 'silent')])
  t.equal(first, 'silent', 'no answer while stalled')
  t.equal(target.requests, 0, 'the target saw no request')
  proxy.pass()
  const res = await within(answer)
  t.equal(res.body.toString(), 'hello')
})

t.test('stall freezes an open connection in both directions, and pass() delivers what was held', async (t) => {
  const target = await startTcpTarget(t)
  const proxy = await startProxy(t, { host: '127.0.0.1', port: target.port })
  const client = await openClient(t, proxy.port)
  client.socket.write('ping')
  await until(() => target.received().toString() === 'ping')
  proxy.stall()
  client.socket.write('up')
  target.sockets[0]!.write('down')
  await sleep(QUIET_MS)
  t.equal(target.received().toString(), 'ping', 'nothing more went upstream')
  t.equal(client.received(), '', 'nothing came downstream')
  proxy.pass()
  await until(() => target.received().toString() === 'pingup' && client.received() === 'down')
})

t.test('a half-close (FIN) is forwarded each way after the data; the other way stays open until its own FIN', async (t) => {
  const target = await startTcpTarget(t)
  const proxy = await startProxy(t, { host: '127.0.0.1', port: target.port })
  const client = await openClient(t, proxy.port)
  client.socket.end('request')
  await until(() => target.ended === 1)
  t.equal(target.received().toString(), 'request')
  target.sockets[0]!.end('answer')
  await until(() => client.ended)
  t.equal(client.received(), 'answer', 'the answer still came after the client half-closed')
  await until(() => proxy.stats().open === 0)
})

t.test('stallAfter(n) lets exactly n bytes reach the target, then the rest after pass()', async (t) => {
  const target = await startTcpTarget(t)
  const proxy = await startProxy(t, { host: '127.0.0.1', port: target.port })
  const n = 100_003 // not a chunk boundary, so a chunk is split
  proxy.stallAfter(n)
  const client = await openClient(t, proxy.port)
  const body = randomBytes(1024 * 1024)
  client.socket.write(body)
  await within(proxy.waitForBytesUp(n))
  await until(() => target.received().length >= n)
  await sleep(QUIET_MS)
  t.equal(target.received().length, n, 'exactly n bytes while stalled')
  t.equal(proxy.stats().bytesUp, n)
  proxy.pass()
  await until(() => target.received().length >= body.length)
  t.ok(target.received().equals(body), 'every byte arrived, in order')
})

t.test('reset() cuts open connections with a TCP reset on both sides', async (t) => {
  const target = await startHttpTarget(t)
  const proxy = await startProxy(t, target.url)
  const answer = send(`${proxy.url}/hang`, 'x')
  await until(() => target.requests === 1)
  proxy.reset()
  await t.rejects(within(answer), { code: 'ECONNRESET' })
  await until(() => target.resets === 1 && proxy.stats().open === 0)
  const res = await send(`${proxy.url}/echo`, 'again')
  t.equal(res.body.toString(), 'again', 'new connections are still accepted')
})

t.test('slow() throttles a body without changing it', async (t) => {
  const target = await startHttpTarget(t)
  const proxy = await startProxy(t, target.url)
  proxy.slow(64 * 1024)
  const body = randomBytes(256 * 1024)
  const started = Date.now()
  const res = await send(`${proxy.url}/digest`, body)
  t.equal(res.body.toString(), `${body.length} ${sha256(body)}`)
  t.ok(Date.now() - started > 1000, 'not instant (about 4 s at 64 KiB/s)')
})

t.test('refuse(true) closes new connections at once; refuse(false) lets them through again', async (t) => {
  const target = await startHttpTarget(t)
  const proxy = await startProxy(t, target.url)
  proxy.refuse(true)
  await t.rejects(send(`${proxy.url}/echo`, 'x'), { code: /^(ECONNRESET|EPIPE)$/ })
  t.equal(proxy.stats().refused, 1)
  t.equal(target.requests, 0, 'the target saw nothing')
  proxy.refuse(false)
  t.equal((await send(`${proxy.url}/echo`, 'back')).body.toString(), 'back')
})

t.test('a target that is down resets the client instead of leaving it open', async (t) => {
  const spare = createTcpServer()
  const port = await listen(t, spare)
  await new Promise((resolve) => spare.close(resolve)) // nothing listens on `port` now
  const proxy = await startProxy(t, { host: '127.0.0.1', port })
  const client = await openClient(t, proxy.port)
  await until(() => client.error !== '' || client.ended)
  t.equal(client.error, 'ECONNRESET', 'a reset, not a clean end')
  await until(() => proxy.stats().open === 0)
})

t.test('close() resolves with stalled connections holding data, and fails pending waits', async (t) => {
  const target = await startHttpTarget(t)
  const proxy = await startFaultProxy(target.url)
  proxy.stall()
  const answer = send(`${proxy.url}/echo`, randomBytes(4 * 1024 * 1024)).catch((err: Error) => err)
  const waiting = proxy.waitForBytesUp(1)
  await until(() => proxy.stats().accepted === 1)
  await within(proxy.close())
  await t.rejects(within(waiting), /closed/, 'a pending wait is rejected, not left hanging')
  t.type(await within(answer), Error, "the client's connection ended")
  t.equal(proxy.stats().open, 0)
})
