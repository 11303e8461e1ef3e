import { connect } from 'node:net'
import { request, type IncomingMessage } from 'node:http'
import t from 'tap'
import type { Config } from '../../src/config.js'
import { eventually, openUpload } from '../helpers/upload-client.js'
import { completedJobWithOutput, MiB, settlesToNothing, startFaultStack } from './helpers.js'

const idle = (ms: number) => (c: Config): Config => ({ ...c, upload: { ...c.upload, idleTimeoutMs: ms }, server: { ...c.server, headersTimeoutMs: 1000 } })
const metric = async (baseUrl: string, name: string) => {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  return Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
}

t.test('an upload that goes silent gets 408, its connection is closed, nothing is kept', async (t) => {
  const it = await startFaultStack(t, idle(300))
  const up = openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  await up.write(6 * MiB)
  const answer = await up.answer
  t.equal(answer.status, 408)
  t.equal(answer.body.code, 'request_timeout')
  t.equal(answer.headers.connection, 'close')
  await new Promise<void>((resolve) => (up.req.socket?.destroyed ? resolve() : up.req.socket?.once('close', () => resolve())))
  t.pass('the gateway closed the connection')
  await settlesToNothing(t, it)
  t.equal(await metric(it.baseUrl, 'sagegate_client_timeouts_total{phase="body"}'), 1)
})

t.test('a multipart form that goes silent before its file gets 408 too', async (t) => {
  const it = await startFaultStack(t, idle(300))
  const boundary = 'xyzzy'
  const up = openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': `multipart/form-data; boundary=${boundary}` })
  up.req.write(`--${boundary}\r\nContent-Disposition: form-data; name="customAttributes"\r\n\r\na=1\r\n`)
  const answer = await up.answer
  t.equal(answer.status, 408)
  t.equal(answer.body.code, 'request_timeout')
  await settlesToNothing(t, it)
})

t.test('a real-time body that goes silent gets 408', async (t) => {
  const it = await startFaultStack(t, idle(300))
  const up = openUpload(`${it.baseUrl}/models/echo/predict`, { 'content-type': 'text/plain', 'content-length': '100' })
  up.req.write('only ten..')
  const answer = await up.answer
  t.equal(answer.status, 408)
  t.equal(answer.body.code, 'request_timeout')
})

t.test('a client that keeps sending slowly is not idle', async (t) => {
  const it = await startFaultStack(t, idle(400))
  const up = openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  for (let i = 0; i < 12; i++) {
    up.req.write(Buffer.alloc(32 * 1024, 'd'))
    await new Promise((r) => setTimeout(r, 100))
  }
  up.end()
  t.equal((await up.answer).status, 202)
})

t.test('time the gateway holds a client back (S3 slower than the client) is not idleness', async (t) => {
  // The S3 stall deadline is seen at the socket: kernel buffers (MiBs on loopback) draining at 3 MiB/s
  // show no progress for a while, so it gets room here; the client's idle timeout stays at 300 ms.
  const it = await startFaultStack(t, (c) => idle(300)({ ...c, aws: { ...c.aws, s3StallTimeoutMs: 3000 } }))
  it.s3Proxy.slow(3 * MiB)
  const up = openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  await up.write(9 * MiB)
  up.end()
  const answer = await up.answer
  t.equal(answer.status, 202, 'the upload took seconds of backpressure and still succeeded')
  t.equal(answer.body.input.sizeBytes, 9 * MiB)
})

t.test('a client that reads nothing of a large result has its connection closed', async (t) => {
  const it = await startFaultStack(t, idle(300))
  const id = await completedJobWithOutput(it, 32 * MiB)
  const res = await new Promise<IncomingMessage>((resolve) => request(`${it.baseUrl}/jobs/${id}/result`, resolve).end())
  // Read nothing: the response backs up and the gateway gives up on the client.
  res.pause()
  await eventually('the gateway gave up on the client', async () => (await metric(it.baseUrl, 'sagegate_client_timeouts_total{phase="response"}')) === 1)
  let received = 0
  res.on('data', (c: Buffer) => (received += c.length))
  const ended = await new Promise<string>((resolve) => {
    res.once('end', () => resolve('end'))
    res.once('error', () => resolve('error'))
    res.once('close', () => resolve('close'))
    res.resume()
  })
  t.not(ended, 'end', 'the response did not complete')
  t.ok(received < 32 * MiB, `only ${received} bytes arrived`)
})

t.test('headers that never finish: the connection is closed after headersTimeoutMs', async (t) => {
  const it = await startFaultStack(t, idle(300))
  const { port } = new URL(it.baseUrl)
  const socket = connect(Number(port), '127.0.0.1')
  socket.write('POST /models/summarize/jobs HTTP/1.1\r\nHost: x\r\n')
  let text = ''
  socket.on('data', (c: Buffer) => (text += c.toString()))
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
  t.match(text, /^HTTP\/1\.1 408/, 'answered 408, then closed')
  t.match(text, /content-type: application\/problem\+json/i)
  t.match(text, /"code":"request_timeout"/)
})

t.test('a request that is not HTTP gets a 400 problem document, then the connection closes', async (t) => {
  const it = await startFaultStack(t)
  const socket = connect(Number(new URL(it.baseUrl).port), '127.0.0.1')
  socket.write('NOT HTTP AT ALL\r\n\r\n')
  let text = ''
  socket.on('data', (c: Buffer) => (text += c.toString()))
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
  t.match(text, /^HTTP\/1\.1 400/)
  t.match(text, /"code":"bad_request"/)
})
