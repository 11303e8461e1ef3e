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
  let now = Date.now()
  const { app, store, job, outKey } = await created(t, () => now)
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'in_progress')
  await store.putSmall({ bucket: 'out', key: outKey.slice(4) }, '{"ok":true}', 'application/json')
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'in_progress', 'polls within a second share one read')
  now += 1000
  const done = (await app.inject(`/jobs/${job.id}`)).json()
  t.equal(done.status, 'completed')
  t.same(done.result, { contentType: 'application/json', sizeBytes: 11 })
})

t.test("failed, with a stable code and summary, not the model's own text", async (t) => {
  const { app, store, job, failKey } = await created(t)
  await store.putSmall({ bucket: 'out', key: failKey.slice(4) }, '{"error":"could not decode /tmp/job-123/input.mp4"}', 'application/json')
  const failed = (await app.inject(`/jobs/${job.id}`)).json()
  t.equal(failed.status, 'failed')
  t.same(failed.error, { code: 'ModelError', message: 'The model failed to process the input.' })
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
  t.match(early.json(), { status: 409, jobStatus: 'in_progress' })
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
  // A dependency that fails is reported, but does not make the gateway unready (routes/health.ts).
  runtime.reachable = false
  let res = await app.inject('/readyz')
  for (let i = 0; i < 100 && res.json().checks.runtime !== 'unreachable'; i++) {
    await new Promise((r) => setTimeout(r, 50))
    res = await app.inject('/readyz')
  }
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', checks: { storage: 'ok', runtime: 'unreachable' } })
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /sagegate_dependency_up\{dependency="runtime"\} 0/)
  t.match(metrics, /sagegate_dependency_up\{dependency="storage"\} 1/)
})

t.test('a draining gateway is not ready, and says so on every answer', async (t) => {
  const { app } = await created(t)
  app.lifecycle.startDrain()
  const res = await app.inject('/readyz')
  t.equal(res.statusCode, 503)
  t.equal(res.json().status, 'draining')
  t.equal((await app.inject('/healthz')).headers.connection, 'close')
  t.match((await app.inject('/metrics')).body, /^sagegate_draining 1$/m)
})

t.test('a clock-derived expiry is not cached: an output that appears later still wins', async (t) => {
  let now = Date.now()
  const { app, store, job, outKey } = await created(t, () => now)
  now += (60 + 10 + 61) * 1000
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'expired')
  await store.putSmall({ bucket: 'out', key: outKey.slice(4) }, 'late', 'text/plain')
  now += 1000
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'completed')
})

t.test('a completed job is answered from the cache, without S3', async (t) => {
  const { app, store, job, outKey } = await created(t)
  await store.putSmall({ bucket: 'out', key: outKey.slice(4) }, 'done', 'text/plain')
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'completed')
  store.objects.clear()
  t.equal((await app.inject(`/jobs/${job.id}`)).json().status, 'completed')
})

t.test('an unreadable record or location is corrupt_job_record, not a generic 500', async (t) => {
  const { app, store, job } = await created(t)
  const recordKey = [...store.objects.keys()].find((k) => k.endsWith('/job.json'))!
  const [bucket, ...key] = recordKey.split('/')
  const loc = { bucket: bucket!, key: key.join('/') }
  const record = JSON.parse(store.objects.get(recordKey)!.body.toString()) as Record<string, unknown>
  const badLocation = JSON.stringify({ ...record, outputLocation: 'https://s3.example.com/bucket/%E0%A4%A' })
  for (const body of ['{not json', JSON.stringify({ version: 2 }), badLocation]) {
    await store.putSmall(loc, body, 'application/json')
    const res = await app.inject(`/jobs/${job.id}`)
    t.equal(res.statusCode, 500, body)
    t.equal(res.json().code, 'corrupt_job_record', body)
  }
})

t.test('HEAD of a result: the headers of the output, no body', async (t) => {
  const { app, store, job, outKey } = await created(t)
  t.equal((await app.inject({ method: 'HEAD', url: `/jobs/${job.id}/result` })).statusCode, 409)
  await store.putSmall({ bucket: 'out', key: outKey.slice(4) }, '0123456789', 'text/plain')
  const head = await app.inject({ method: 'HEAD', url: `/jobs/${job.id}/result` })
  t.equal(head.statusCode, 200)
  t.equal(head.headers['content-length'], '10')
  t.equal(head.headers['content-type'], 'text/plain')
  t.equal(head.body, '')
  const part = await app.inject({ method: 'HEAD', url: `/jobs/${job.id}/result`, headers: { range: 'bytes=2-4' } })
  t.equal(part.statusCode, 206)
  t.equal(part.headers['content-length'], '3')
  t.equal(part.headers['content-range'], 'bytes 2-4/10')
})
