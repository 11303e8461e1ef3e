import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { holdingContainer } from '../helpers/holding-container.js'
import { startTestStack } from '../helpers/stack.js'
import { SECRET, silent, startReceiver, waitFor, webhookConfig } from '../services/webhooks-fixtures.js'

const held = (url: string) => ({
  endpoints: [{ name: 'held-async', mode: 'async' as const, handler: 'summarize', containerUrl: url, maxConcurrentInvocationsPerInstance: 4, instanceCount: 1 }],
  models: { held: { mode: 'async', endpointName: 'held-async', contentTypes: ['text/plain'], maxBytes: 1024 } },
})

t.test('a callback to a host that is not allowed is refused before the body is read; nothing is stored', async (t) => {
  const container = await holdingContainer(t)
  const it = await startTestStack(t, { ...held(container.url), configure: (c) => ({ ...c, webhooks: webhookConfig() }) })
  for (const url of ['http://evil.example.com/hook', 'http://169.254.169.254/latest/meta-data', 'file:///etc/passwd', 'http://10.0.0.1/hook']) {
    const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-webhook-url': url }, body: 'x' })
    t.equal(res.status, 400, url)
    t.equal(((await res.json()) as { code: string }).code, 'webhook_not_allowed')
  }
  const form = new FormData()
  form.append('webhookUrl', 'http://evil.example.com/hook')
  form.append('file', new Blob(['x'], { type: 'text/plain' }), 'a.txt')
  t.equal((await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', body: form })).status, 400, 'the form field too')
  t.same(await it.keys('sagegate/'), [])
  t.equal(container.held.length, 0)
})

t.test('a gateway without webhooks.allowedHosts refuses every callback', async (t) => {
  const container = await holdingContainer(t)
  const it = await startTestStack(t, held(container.url))
  const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-webhook-url': 'http://127.0.0.1:9/hook' }, body: 'x' })
  t.equal(res.status, 400)
})

t.test('a receiver that fails first gets a retry with the same id, both signed; the delivery is gone after', async (t) => {
  const container = await holdingContainer(t)
  const receiver = await startReceiver(t, (_r, i) => (i === 0 ? 500 : 204))
  const it = await startTestStack(t, { ...held(container.url), configure: (c) => ({ ...c, webhooks: webhookConfig() }) })
  const arrival = container.nextArrival()
  const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-webhook-url': receiver.url }, body: 'call me' })
  t.equal(res.status, 202)
  const { id } = (await res.json()) as { id: string }
  t.ok((await it.keys()).includes(`sagegate/jobs/${id}/webhook.json`), 'the delivery is pending in S3 before the job ends')
  await arrival
  container.release()
  // The first retry comes within 10 s of the failed attempt.
  await waitFor(() => receiver.received.length >= 2, 'the retry', 40_000)
  const [first, second] = receiver.received
  t.equal(first!.headers['webhook-id'], second!.headers['webhook-id'])
  t.equal(first!.body, second!.body)
  const verifier = new Webhook(SECRET)
  for (const r of [first!, second!]) {
    const payload = verifier.verify(r.body, r.headers as Record<string, string>) as { type: string; data: { id: string; status: string } }
    t.same([payload.type, payload.data.id, payload.data.status], ['job.completed', id, 'completed'])
  }
  await waitFor(async () => !(await it.keys()).some((k) => k.includes('webhook')), 'the delivery to be removed')
})

t.test('a gateway restarted between attempts still delivers (the pending delivery lives in S3)', async (t) => {
  const container = await holdingContainer(t)
  const receiver = await startReceiver(t, (_r, i) => (i === 0 ? 503 : 200))
  const it = await startTestStack(t, { ...held(container.url), configure: (c) => ({ ...c, webhooks: webhookConfig() }) })
  const arrival = container.nextArrival()
  const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-webhook-url': receiver.url }, body: 'restart' })
  const { id } = (await res.json()) as { id: string }
  await arrival
  container.release()
  await waitFor(() => receiver.received.length >= 1, 'the first attempt', 40_000)
  await it.app.close()
  const replacement = await buildApp(it.config, { logger: silent, credentials: it.stack.credentials })
  t.teardown(() => replacement.close())
  await replacement.ready()
  await waitFor(() => receiver.received.length >= 2, 'the retry from the new gateway', 40_000)
  t.equal(receiver.received[1]!.headers['webhook-id'], receiver.received[0]!.headers['webhook-id'])
  t.match(JSON.parse(receiver.received[1]!.body), { data: { id, status: 'completed' } })
})

const b64 = (s: string) => Buffer.from(s).toString('base64')

t.test('resumable (tus metadata) and direct-to-S3 (metadata.webhookUrl) uploads take a callback too', async (t) => {
  const container = await holdingContainer(t)
  const receiver = await startReceiver(t)
  const it = await startTestStack(t, { ...held(container.url), configure: (c) => ({ ...c, webhooks: webhookConfig() }) })
  const tus = (webhookUrl: string, body: string) =>
    fetch(`${it.baseUrl}/uploads`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': String(body.length),
        'upload-metadata': `model ${b64('held')},filetype ${b64('text/plain')},webhookUrl ${b64(webhookUrl)}`,
        'content-type': 'application/offset+octet-stream',
      },
      body,
    })
  const refused = await tus('http://evil.example.com/hook', 'x')
  t.equal(refused.status, 400)
  t.equal(((await refused.json()) as { code: string }).code, 'webhook_not_allowed')
  const direct = await fetch(`${it.baseUrl}/models/held/uploads/s3/multipart`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'text/plain', filename: 'a.txt', metadata: { webhookUrl: 'http://evil.example.com/hook' } }),
  })
  t.equal(direct.status, 400, 'direct-to-S3 creation')
  t.same(await it.keys('sagegate/'), [], 'nothing stored for the refused uploads')

  const arrival = container.nextArrival()
  const accepted = await tus(receiver.url, 'resumable and called back')
  t.equal(accepted.status, 201)
  const jobPath = accepted.headers.get('job-location')
  t.ok(jobPath, 'the job started with the last byte')
  await arrival
  container.release()
  await waitFor(() => receiver.received.length >= 1, 'the webhook', 40_000)
  t.match(JSON.parse(receiver.received[0]!.body), { type: 'job.completed', data: { id: jobPath!.split('/').pop(), status: 'completed' } })
})
