import { request } from 'node:http'
import t from 'tap'
import { openUpload } from '../helpers/upload-client.js'
import { MiB, startFaultStack } from './helpers.js'

t.test('past maxConcurrentUploads a new upload gets 503 too_many_uploads before any byte is read', async (t) => {
  // Nothing here is about deadlines: the default ones, so that a loaded machine cannot turn an
  // upload into a 504 (the fault stack's 500 ms attempts are for the stall tests).
  const it = await startFaultStack(t, (c) => ({
    ...c,
    aws: { ...c.aws, s3AttemptTimeoutMs: 4_000, s3StallTimeoutMs: 4_000, readBudgetMs: 12_000, sageMakerAttemptTimeoutMs: 5_000 },
    limits: { ...c.limits, maxConcurrentUploads: 1 },
  }))
  const first = openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  await first.write(1 * MiB)
  // Wait until the first one holds the only place.
  for (let i = 0; i < 200 && !/sagegate_uploads_in_flight 1/.test(await (await fetch(`${it.baseUrl}/metrics`)).text()); i++) {
    await new Promise((r) => setTimeout(r, 25))
  }

  // With Expect: 100-continue the client learns it before sending anything.
  const second = await new Promise<{ status: number; continued: boolean; retryAfter?: string; code?: string }>((resolve, reject) => {
    let continued = false
    const req = request(`${it.baseUrl}/models/summarize/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'content-length': String(5 * MiB), expect: '100-continue' },
    })
    req.on('continue', () => (continued = true))
    req.on('response', (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, retryAfter: res.headers['retry-after'], code: JSON.parse(body).code }))
    })
    req.on('error', reject)
    req.flushHeaders()
  })
  t.equal(second.status, 503)
  t.equal(second.code, 'too_many_uploads')
  t.equal(second.retryAfter, '5')
  t.equal(second.continued, false, 'no 100 Continue was sent')

  first.end()
  t.equal((await first.answer).status, 202, 'the running upload is unaffected')
  const third = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'Now there is room.' })
  t.equal(third.status, 202, 'the place is free again')
  t.match(await (await fetch(`${it.baseUrl}/metrics`)).text(), /sagegate_uploads_refused_total\{reason="capacity"\} 1/)
})
