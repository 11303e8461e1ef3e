import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A real model container (SageMaker container contract) that holds each invocation until released. */
/** `t`: anything with teardown (a tap Test, or a bench's own list of closers). */
export async function holdingContainer(t: { teardown(fn: () => void): void }) {
  const held: Array<{ res: ServerResponse; body: Buffer }> = []
  let arrived: () => void = () => undefined
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/ping') return void res.end()
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      held.push({ res, body: Buffer.concat(chunks) })
      arrived()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    nextArrival: () => new Promise<void>((r) => (arrived = r)),
    release() {
      for (const { res, body } of held.splice(0)) res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body)
    },
  }
}

