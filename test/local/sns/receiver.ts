import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface Received {
  headers: IncomingHttpHeaders
  body: Record<string, string>
}

/** An HTTP subscriber that records what SNS posts and answers `status` (default 200). */
export async function startReceiver(t: Test, status: () => number = () => 200) {
  const received: Received[] = []
  const waiters: Array<() => void> = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string> })
      res.writeHead(status()).end()
      for (const wake of waiters.splice(0)) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sns`
  /** The first message (in arrival order) that matches, waiting up to `timeoutMs` for it. */
  async function next(match: (m: Received) => boolean, timeoutMs = 20_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = received.find(match)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`no matching SNS message after ${timeoutMs} ms (got ${received.length})`)
      await new Promise<void>((resolve) => {
        waiters.push(resolve)
        setTimeout(resolve, 200)
      })
    }
  }
  return { url, received, next }
}
