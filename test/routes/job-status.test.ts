import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'

async function created(t: Test, clock?: () => number) {
  const ctx = await buildTestApp(clock ? { clock } : {})
  t.teardown(() => ctx.app.close())
  const res = await ctx.app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'Some text.' })
  const job = res.json()
  return { ...ctx, job, outKey: `out/results/${job.id}.out`, failKey: `out/failures/${job.id}-error.out` }
}

t.test('in progress, then completed with the output size and type', async (t) => {
  const { app, store, job, outKey } = await created(t)
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'in_progress')
  await store.putSmall({ bucket: 'out', key: outKey.slice(4) }, '{"ok":true}', 'application/json')
  const done = (await app.inject(`/jobs/${job.id}`)).json()
  t.equal(done.status, 'completed')
  t.same(done.result, { contentType: 'application/json', sizeBytes: 11 })
})

t.test('failed, with the model message from the failure object', async (t) => {
  const { app, store, job, failKey } = await created(t)
  await store.putSmall({ bucket: 'out', key: failKey.slice(4) }, '{"error":"could not decode video"}', 'application/json')
  const failed = (await app.inject(`/jobs/${job.id}`)).json()
  t.equal(failed.status, 'failed')
  t.equal(failed.error.message, 'could not decode video')
})

t.test('expired, from the runtime expiry marker', async (t) => {
  const { app, store, job, failKey } = await created(t)
  await store.putSmall({ bucket: 'out', key: failKey.slice(4) }, '{"errorCode":"RequestExpired","errorMessage":"Request expired"}', 'application/json')
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'expired')
})

t.test('expired, past TTL plus timeout with no outcome', async (t) => {
  let now = Date.now()
  const { app, job } = await created(t, () => now)
  now += (60 + 10 + 61) * 1000
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'expired')
})

t.test('unknown and malformed ids are 404', async (t) => {
  const { app } = await created(t)
  for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', '..%2F..%2Fetc', 'x']) {
    const res = await app.inject(`/jobs/${id}`)
    t.equal(res.statusCode, 404, id)
    t.equal(res.json().code, 'job_not_found')
  }
})

t.test('result: 409 while in progress, then the bytes, with ranges', async (t) => {
  const { app, store, job, outKey } = await created(t)
  const early = await app.inject(`/jobs/${job.id}/result`)
  t.equal(early.statusCode, 409)
  t.equal(early.json().status, 'in_progress')
  await store.putSmall({ bucket: 'out', key: outKey.slice(4) }, '0123456789', 'text/plain')
  const full = await app.inject(`/jobs/${job.id}/result`)
  t.equal(full.statusCode, 200)
  t.equal(full.body, '0123456789')
  t.equal(full.headers['accept-ranges'], 'bytes')
  const part = await app.inject({ url: `/jobs/${job.id}/result`, headers: { range: 'bytes=2-4' } })
  t.equal(part.statusCode, 206)
  t.equal(part.body, '234')
  t.equal(part.headers['content-range'], 'bytes 2-4/10')
  const suffix = await app.inject({ url: `/jobs/${job.id}/result`, headers: { range: 'bytes=-3' } })
  t.equal(suffix.body, '789')
  const bad = await app.inject({ url: `/jobs/${job.id}/result`, headers: { range: 'bytes=10-' } })
  t.equal(bad.statusCode, 416)
  t.equal(bad.headers['content-range'], 'bytes */10')
})

t.test('models are listed without internals', async (t) => {
  const { app } = await created(t)
  const list = (await app.inject('/models')).json()
  t.same(list.models.map((m: { name: string }) => m.name), ['classify', 'live', 'text', 'video'])
  const text = list.models.find((m: { name: string }) => m.name === 'text')
  t.same(Object.keys(text).sort(), ['contentTypes', 'endpointName', 'maxBytes', 'mode', 'name'], 'no buckets or keys')
  t.match(list.models.find((m: { name: string }) => m.name === 'live'), { mode: 'realtime', streaming: true })
  t.equal((await app.inject('/models/text')).json().maxBytes, 1000)
  t.equal((await app.inject('/models/nope')).statusCode, 404)
})

t.test('health and readiness', async (t) => {
  const { app, runtime } = await created(t)
  t.equal((await app.inject('/healthz')).statusCode, 200)
  t.same((await app.inject('/readyz')).json(), { status: 'ready', checks: { storage: 'ok', runtime: 'ok' } })
  runtime.reachable = false
  const res = await app.inject('/readyz')
  t.equal(res.statusCode, 503)
  t.equal(res.json().checks.runtime, 'unreachable')
})
