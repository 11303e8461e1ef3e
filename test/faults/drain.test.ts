import t from 'tap'
import { drain } from '../../src/drain.js'
import { eventually, openUpload } from '../helpers/upload-client.js'
import { MiB, settlesToNothing, startFaultStack } from './helpers.js'

const inFlight = async (baseUrl: string, n: number) =>
  eventually(`${n} uploads in flight`, async () => new RegExp(`sagegate_uploads_in_flight ${n}\\b`).test(await (await fetch(`${baseUrl}/metrics`)).text()))

t.test('drain: uploads in flight finish with their normal answers; new ones and readiness get 503', async (t) => {
  const it = await startFaultStack(t)
  const ups = [0, 1, 2].map(() => openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain' }))
  for (const up of ups) await up.write(1 * MiB)
  await inFlight(it.baseUrl, 3)
  const drained = drain(it.app, 30_000)

  const ready = await fetch(`${it.baseUrl}/readyz`)
  t.equal(ready.status, 503, 'not ready at once')
  t.equal(ready.headers.get('connection'), 'close')
  const late = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'Too late.' })
  t.equal(late.status, 503)
  t.equal(late.headers.get('retry-after'), '1')
  t.equal(((await late.json()) as { code: string }).code, 'shutting_down')

  for (const up of ups) {
    await up.write(1 * MiB)
    up.end()
  }
  const answers = await Promise.all(ups.map((up) => up.answer))
  t.same(answers.map((a) => a.status), [202, 202, 202], 'the uploads in flight completed')
  await drained
  await t.rejects(fetch(`${it.baseUrl}/healthz`), 'the listener is closed')
  t.equal((await it.keys('sagegate/')).filter((k) => k.endsWith('/job.json')).length, 3, 'their jobs exist')
  t.equal(await it.openUploads(), 0)
})

t.test('drain: uploads still running at the deadline get 503 and leave nothing behind', async (t) => {
  const it = await startFaultStack(t)
  const ups = [0, 1, 2].map(() => openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain' }))
  for (const up of ups) await up.write(6 * MiB)
  await inFlight(it.baseUrl, 3)
  await eventually('their multipart uploads are open', async () => (await it.openUploads()) === 3)
  await drain(it.app, 300)
  const answers = await Promise.all(ups.map((up) => up.answer))
  t.same(answers.map((a) => a.status), [503, 503, 503])
  t.same(answers.map((a) => a.body.code), ['shutting_down', 'shutting_down', 'shutting_down'])
  await settlesToNothing(t, it)
})

t.test('drain delay: with nothing in flight the listener stays open, not ready, for the delay', async (t) => {
  const it = await startFaultStack(t)
  const drained = drain(it.app, 30_000, 1000)
  const ready = await fetch(`${it.baseUrl}/readyz`)
  t.equal(ready.status, 503, 'still listening, and not ready')
  const poll = await fetch(`${it.baseUrl}/healthz`)
  t.equal(poll.status, 200, 'other requests are still served')
  t.equal(poll.headers.get('connection'), 'close')
  await drained
  await t.rejects(fetch(`${it.baseUrl}/healthz`), 'closed after the delay')
})
