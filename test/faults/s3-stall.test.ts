import t from 'tap'
import { eventually, openUpload } from '../helpers/upload-client.js'
import { leavesNothing, MiB, settlesToNothing, startFaultStack } from './helpers.js'

// S3 frozen (the proxy forwards no byte, as with a stopped process), with the deadlines of
// fastDeadlines: 500 ms per attempt, 2 attempts, 1.5 s per read.

t.test('S3 stalls in the middle of an upload: 504 with Retry-After, and nothing is left once S3 is back', async (t) => {
  const it = await startFaultStack(t)
  const up = openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  await up.write(7 * MiB)
  // The multipart upload exists in S3 (its first part is on its way): freeze S3 now.
  await eventually('a multipart upload is open', async () => (await it.openUploads()) === 1)
  it.s3Proxy.stall()
  void up.write(2 * MiB)
  const answer = await up.answer
  t.equal(answer.status, 504)
  t.equal(answer.body.code, 'upstream_timeout')
  t.equal(answer.headers['retry-after'], '5')
  t.equal(answer.headers.connection, 'close', 'the unread body is not drained')
  it.s3Proxy.pass()
  // The abort S3 could not take while frozen is retried in the background.
  await settlesToNothing(t, it)
  await eventually('no cleanup is left pending', async () =>
    /^sagegate_cleanup_pending 0$/m.test(await (await fetch(`${it.baseUrl}/metrics`)).text()),
  )
})

t.test('S3 stalls before an upload starts: 504, nothing left', async (t) => {
  const it = await startFaultStack(t)
  it.s3Proxy.stall()
  const res = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'A short text.' })
  t.equal(res.status, 504)
  t.equal(((await res.json()) as { code: string }).code, 'upstream_timeout')
  it.s3Proxy.pass()
  await settlesToNothing(t, it)
})

t.test('S3 stalls during status polls and result reads: 504 with Retry-After within the read budget', async (t) => {
  const it = await startFaultStack(t)
  const id = 'AAAAAAAAAAAAAAAAAAAAAA'
  it.s3Proxy.stall()
  for (const [method, path] of [
    ['GET', `/jobs/${id}`],
    ['GET', `/jobs/${id}/result`],
    ['HEAD', `/jobs/${id}/result`],
  ] as const) {
    const res = await fetch(`${it.baseUrl}${path}`, { method })
    t.equal(res.status, 504, `${method} ${path}`)
    t.equal(res.headers.get('retry-after'), '5')
    if (method === 'GET') t.equal(((await res.json()) as { code: string }).code, 'upstream_timeout')
  }
  it.s3Proxy.pass()
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}`)).status, 404, 'answers normally once S3 is back')
  await leavesNothing(t, it)
})

t.test('S3 refuses connections (down): 503 upstream_unavailable with Retry-After', async (t) => {
  const it = await startFaultStack(t)
  it.s3Proxy.refuse(true)
  const res = await fetch(`${it.baseUrl}/jobs/AAAAAAAAAAAAAAAAAAAAAA`)
  t.equal(res.status, 503)
  t.equal(((await res.json()) as { code: string }).code, 'upstream_unavailable')
  t.equal(res.headers.get('retry-after'), '5')
})

t.test('predict does not wait on a frozen S3 for a model it knows, even past the listing TTL', async (t) => {
  const it = await startFaultStack(t)
  const call = () => fetch(`${it.baseUrl}/models/echo/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'ping' })
  t.equal((await call()).status, 200, 'warm: the listing is known')
  it.s3Proxy.stall()
  // discoveryTtlMs is 1000 here: wait until the listing is stale.
  await new Promise((r) => setTimeout(r, 1100))
  for (let i = 0; i < 3; i++) {
    const res = await call()
    t.equal(res.status, 200)
    t.equal(await res.text(), 'ping')
  }
  const ready = await fetch(`${it.baseUrl}/readyz`)
  t.equal(ready.status, 200, 'a slow S3 does not make the gateway unready')
  it.s3Proxy.pass()
})
