import { connect } from 'node:net'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

/** One raw request over a socket; the whole answer as text (the gateway closes or we stop at 2 s). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    let got = ''
    socket.setEncoding('latin1')
    socket.on('data', (c: string) => {
      got += c
      // One complete answer with a Content-Length body is enough.
      const head = got.indexOf('\r\n\r\n')
      const length = /content-length: (\d+)/i.exec(got)?.[1]
      if (head >= 0 && length !== undefined && got.length >= head + 4 + Number(length)) socket.destroy()
    })
    socket.on('close', () => resolve(got))
    socket.on('error', reject)
    setTimeout(() => socket.destroy(), 2000)
  })
}

const problem = (answer: string) => {
  const [head, body] = [answer.slice(0, answer.indexOf('\r\n\r\n')), answer.slice(answer.indexOf('\r\n\r\n') + 4)]
  return { status: Number(head.split(' ')[1]), head, body: JSON.parse(body) as Record<string, unknown> }
}

t.test("requests Node or Fastify's router would refuse with bare answers get problem documents", async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const cases: Array<[string, string, number, string]> = [
    ['an Expect other than 100-continue', 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n', 417, 'expectation_failed'],
    ['HTTP/1.1 without Host', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'bad_request'],
    ['a path parameter over 100 characters', `GET /models/${'a'.repeat(101)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, 'uri_too_long'],
    ['bad percent-encoding', 'GET /models/%ff HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
    ['multipart without a boundary', 'POST /models/text/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 1\r\n\r\nx', 400, 'bad_request'],
  ]
  for (const [what, request, status, code] of cases) {
    const p = problem(await raw(port, request))
    t.equal(p.status, status, what)
    t.match(p.head, /content-type: application\/problem\+json/i, `${what}: problem+json`)
    t.match(p.head, /x-request-id: \S+/i, `${what}: with its request id`)
    t.match(p.body, { code, status, requestId: String }, what)
  }
  // HTTP/1.0 has no Host requirement.
  t.match(await raw(port, 'GET /healthz HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200/)
})
