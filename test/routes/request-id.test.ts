import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** One request over a real socket; `headers` as a raw name, value list, so a header can repeat (Host must then be given too). */
async function send(port: number, headers: string[]): Promise<{ id: string | undefined; requestId: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/no-such-route', headers: ['Host', `127.0.0.1:${port}`, ...headers] }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ id: res.headers['x-request-id'] as string | undefined, requestId: JSON.parse(Buffer.concat(chunks).toString()).requestId }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test("X-Request-Id: a plain token is kept, anything else replaced (header, problem and log)", async (t) => {
  const lines: string[] = []
  const { app } = await buildTestApp({ logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }) })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port

  const good = await send(port, ['X-Request-Id', 'trace-42.span:7_a'])
  t.same(good, { id: 'trace-42.span:7_a', requestId: 'trace-42.span:7_a' }, 'echoed')

  const bad = {
    long: 'a'.repeat(500),
    spaces: 'has spaces',
    nonAscii: 'caf\u00e9', // sent as the latin1 byte 0xE9
    markup: '<script>alert(1)</script>',
  }
  for (const [name, value] of Object.entries(bad)) {
    const res = await send(port, ['X-Request-Id', value])
    t.match(res.id, UUID, name)
    t.equal(res.requestId, res.id, `${name}: the problem names the same fresh id`)
  }
  const twice = await send(port, ['X-Request-Id', 'dup-one', 'X-Request-Id', 'dup-two'])
  t.match(twice.id, UUID, 'a repeated header gets a fresh id')
  t.match((await send(port, [])).id, UUID, 'none sent: a fresh id')

  const logged = lines.join('\n')
  for (const value of [...Object.values(bad), 'dup-one']) t.notOk(logged.includes(value), `${value.slice(0, 20)} is not logged`)
  t.ok(logged.includes('"reqId":"trace-42.span:7_a"'), 'the accepted id is the log id')
})
