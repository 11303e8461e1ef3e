import type { LookupAddress } from 'node:dns'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createHostPolicy } from '../../src/lib/ssrf.js'
import { createWebhookSender } from '../../src/services/webhook-sender.js'

/** Every name resolves to 127.0.0.1, where the test's server listens. */
const toLoopback = (_h: string, _o: unknown, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => cb(null, [{ address: '127.0.0.1', family: 4 }])

async function serve(t: Test, handler: RequestListener) {
  const paths: string[] = []
  const server = createServer((req, res) => {
    paths.push(req.url ?? '')
    handler(req, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((r) => server.close(() => r()))
  })
  return { port: (server.address() as AddressInfo).port, paths }
}

function sender(t: Test, allowedHosts: string[], timeoutMs = 5_000) {
  const s = createWebhookSender({ timeoutMs, lookup: createHostPolicy(allowedHosts, toLoopback).lookup })
  t.teardown(() => s.close())
  return s
}
const json = { 'content-type': 'application/json' }

t.test('a 2xx is delivered; the body and headers arrive as sent', async (t) => {
  let got = ''
  const srv = await serve(t, (req, res) => {
    req.setEncoding('utf8')
    req.on('data', (c: string) => (got += c))
    req.on('end', () => res.writeHead(202).end('thanks'))
  })
  const r = await sender(t, ['127.0.0.1']).send(new URL(`http://127.0.0.1:${srv.port}/hook`), json, '{"a":1}')
  t.same(r, { outcome: 'delivered', status: 202 })
  t.equal(got, '{"a":1}')
})

t.test('a redirect is not followed: it is a failed attempt', async (t) => {
  const srv = await serve(t, (req, res) => {
    req.resume()
    res.writeHead(307, { location: '/elsewhere' }).end()
  })
  const r = await sender(t, ['127.0.0.1']).send(new URL(`http://127.0.0.1:${srv.port}/hook`), json, '{}')
  t.same(r, { outcome: 'http_error', status: 307, error: 'HTTP 307' })
  t.same(srv.paths, ['/hook'])
})

t.test('a receiver that does not answer in time is a timeout', async (t) => {
  const srv = await serve(t, (req) => req.resume())
  const r = await sender(t, ['127.0.0.1'], 300).send(new URL(`http://127.0.0.1:${srv.port}/hook`), json, '{}')
  t.equal(r.outcome, 'timeout')
})

t.test('nothing listening is a network error', async (t) => {
  // Port 1 (tcpmux) on loopback: nothing listens there.
  const r = await sender(t, ['127.0.0.1']).send(new URL('http://127.0.0.1:1/hook'), json, '{}')
  t.same(r, { outcome: 'network_error', error: 'ECONNREFUSED' })
})

t.test('a wildcard-allowed name that resolves to loopback is refused at connection time; the exact name is let through', async (t) => {
  const srv = await serve(t, (req, res) => {
    req.resume()
    res.writeHead(200).end()
  })
  const url = new URL(`http://hooks.example.test:${srv.port}/hook`)
  const refused = await sender(t, ['*.example.test']).send(url, json, '{}')
  t.equal(refused.outcome, 'refused')
  t.same(srv.paths, [], 'no request reached the internal address')
  const listed = await sender(t, ['hooks.example.test']).send(url, json, '{}')
  t.equal(listed.outcome, 'delivered')
})

t.test('an abort (shutdown) ends the attempt at once', async (t) => {
  const srv = await serve(t, (req) => req.resume())
  const stop = new AbortController()
  const pending = sender(t, ['127.0.0.1']).send(new URL(`http://127.0.0.1:${srv.port}/hook`), json, '{}', stop.signal)
  await new Promise((r) => setTimeout(r, 50))
  stop.abort()
  t.same(await pending, { outcome: 'network_error', error: 'aborted' })
})
