import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { startTestStack } from '../helpers/stack.js'

/** A real-time model container that streams one chunk, then its connection breaks. */
async function breakingContainer(t: Test) {
  const server = createServer((req, res) => {
    if (req.url === '/ping') return void res.end()
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first part\n', () => setTimeout(() => res.destroy(), 50))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('a model that fails mid-stream ends the response so the client can tell', async (t) => {
  const containerUrl = await breakingContainer(t)
  const it = await startTestStack(t, {
    endpoints: [{ name: 'breaking', mode: 'realtime', containerUrl }],
    models: { breaking: { mode: 'realtime', endpointName: 'breaking', streaming: true } },
  })
  const outcome = await new Promise<{ status: number; body: string; complete: boolean }>((resolve, reject) => {
    const req = request(`${it.baseUrl}/models/breaking/predict?stream=true`, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }))
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, complete: false }))
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, complete: false }))
    })
    req.on('error', reject)
    req.end('go')
  })
  t.equal(outcome.status, 200, 'the stream had started')
  t.equal(outcome.body, 'first part\n', 'the bytes before the failure arrived')
  t.equal(outcome.complete, false, 'the response is visibly incomplete')
  t.equal((await fetch(`${it.baseUrl}/healthz`)).status, 200, 'the gateway is fine')
})
