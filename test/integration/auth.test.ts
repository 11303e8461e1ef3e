import { GetObjectCommand } from '@aws-sdk/client-s3'
import t from 'tap'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { startTestStack, waitForJob } from '../helpers/stack.js'

const problem = async (res: Response) => ({ status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, any> })

t.test('without a valid key: 401 with the Bearer challenge; health, readiness, metrics and unknown paths stay open', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const missing = await fetch(`${it.baseUrl}/models`)
  t.match(await problem(missing), { status: 401, type: /^application\/problem\+json/, body: { code: 'unauthorized' } })
  t.equal(missing.headers.get('www-authenticate'), 'Bearer realm="sagegate"')
  for (const headers of [bearer('sg_wrong'), { authorization: 'Basic dXNlcjpwYXNz' }, { 'x-api-key': `${KEYS.acmeWeb}x` }, { authorization: 'Bearer' }]) {
    const res = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: 'hello' })
    t.match(await problem(res), { status: 401, body: { code: 'unauthorized' } }, JSON.stringify(headers))
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="sagegate", error="invalid_token"')
  }
  for (const path of ['/healthz', '/readyz', '/metrics']) t.equal((await fetch(`${it.baseUrl}${path}`)).status, 200, `${path} open`)
  t.equal((await fetch(`${it.baseUrl}/nowhere`)).status, 404)
  t.same(await it.keys('sagegate/'), [], 'nothing stored for refused uploads')
  const metrics = await (await fetch(`${it.baseUrl}/metrics`)).text()
  t.match(metrics, /sagegate_auth_failures_total\{reason="missing_key"\} 1/)
  t.match(metrics, /sagegate_auth_failures_total\{reason="invalid_key"\} 4/)
})

t.test('a key works as Bearer or X-Api-Key, and sees and calls only the models of its list', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const names = async (headers: Record<string, string>) =>
    ((await (await fetch(`${it.baseUrl}/models`, { headers })).json()) as { models: Array<{ name: string }> }).models.map((m) => m.name)
  t.ok((await names(bearer(KEYS.acmeWeb))).length > 1, 'all models for a "*" key')
  t.same(await names({ 'x-api-key': KEYS.acmeBatch }), ['summarize'], 'only its own models')

  const echo = await fetch(`${it.baseUrl}/models/echo/predict`, { method: 'POST', headers: { ...bearer(KEYS.acmeBatch), 'content-type': 'text/plain' }, body: 'hi' })
  t.match(await problem(echo), { status: 403, body: { code: 'model_not_allowed' } })
  // A name outside the list is refused the same way whether or not such a model exists.
  for (const path of ['/models/echo', '/models/no-such-model', '/models/video-frames/jobs']) {
    const res = await fetch(`${it.baseUrl}${path}`, { method: path.endsWith('/jobs') ? 'POST' : 'GET', headers: { 'x-api-key': KEYS.acmeBatch, 'content-type': 'video/mp4' }, body: path.endsWith('/jobs') ? 'x' : null })
    t.match(await problem(res), { status: 403, body: { code: 'model_not_allowed' } }, path)
  }
  const allowed = await fetch(`${it.baseUrl}/models/echo/predict`, { method: 'POST', headers: { 'x-api-key': KEYS.acmeWeb, 'content-type': 'text/plain' }, body: 'hi' })
  t.equal(allowed.status, 200)
})

t.test('a job belongs to its tenant: shared by its keys, a 404 indistinguishable from a missing job to everyone else', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const created = await fetch(`${it.baseUrl}/models/summarize/jobs`, {
    method: 'POST',
    headers: { ...bearer(KEYS.acmeBatch), 'content-type': 'text/plain' },
    body: 'The council approved the budget. Buses arrive in spring. Night service starts in June.',
  })
  t.equal(created.status, 202)
  const { id } = (await created.json()) as { id: string }
  const record = JSON.parse(await (await it.s3.send(new GetObjectCommand({ Bucket: it.bucket, Key: `sagegate/jobs/${id}/job.json` }))).Body!.transformToString())
  t.same(record.owner, { tenant: 'acme', keyId: 'acme-batch' }, 'the record names its tenant and key')

  const done = await waitForJob(it.baseUrl, id, 60_000, bearer(KEYS.acmeWeb))
  t.equal(done.status, 'completed', 'another key of the same tenant follows the job')
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}/result`, { headers: bearer(KEYS.acmeWeb) })).status, 200)

  // The other tenant: same answers as for a job that does not exist, before and after caching.
  const missingId = id.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))
  for (const path of [`/jobs/${id}`, `/jobs/${id}/result`]) {
    for (const method of ['GET', 'HEAD']) {
      if (method === 'HEAD' && !path.endsWith('/result')) continue
      const theirs = await fetch(`${it.baseUrl}${path}`, { method, headers: bearer(KEYS.globex) })
      const none = await fetch(`${it.baseUrl}${path.replace(id, missingId)}`, { method, headers: bearer(KEYS.globex) })
      t.equal(theirs.status, 404, `${method} ${path}`)
      t.equal(none.status, 404)
      if (method === 'GET') {
        const [a, b] = [(await theirs.json()) as Record<string, unknown>, (await none.json()) as Record<string, unknown>]
        t.same({ ...a, instance: '', requestId: '' }, { ...b, instance: '', requestId: '' }, 'no existence oracle')
      }
    }
  }
})
