import t from 'tap'
import { createSigningCertificate } from '../../src/local/sns/certificate.js'
import { signEnvelope } from '../../src/local/sns/envelope.js'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { startTestStack } from '../helpers/stack.js'

const problem = async (res: Response) => ({ status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, any> })

t.test('with API keys configured, health, the API description, the docs, the web page, metrics and the SNS intake answer without a key', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const get = (path: string, init: RequestInit = {}) => fetch(`${it.baseUrl}${path}`, init)

  t.match(await problem(await get('/models')), { status: 401, body: { code: 'unauthorized' } }, 'the API itself needs a key')

  t.equal((await get('/healthz')).status, 200, '/healthz')
  t.equal((await get('/readyz')).status, 200, '/readyz')
  const spec = await get('/openapi.json')
  t.equal(spec.status, 200, '/openapi.json')
  t.match(await spec.json(), { openapi: /^3\.1/ })
  t.equal((await get('/openapi.yaml')).status, 200, '/openapi.yaml')
  // /docs answers, or redirects to its page, which answers.
  const docs = await get('/docs', { redirect: 'manual' })
  t.ok([200, 301, 302, 303, 307, 308].includes(docs.status), `/docs: ${docs.status}`)
  await docs.arrayBuffer()
  const docsPage = await get('/docs')
  t.equal(docsPage.status, 200, '/docs, redirects followed')
  t.match(docsPage.headers.get('content-type'), /^text\/html/)

  const page = await get('/')
  t.equal(page.status, 200, 'the web page')
  t.match(page.headers.get('content-type'), /^text\/html/)
  await page.arrayBuffer()
  for (const asset of ['/assets/app.js', '/assets/style.css', '/assets/favicon.svg', '/assets/tus.min.js']) {
    const res = await get(asset)
    t.equal(res.status, 200, asset)
    await res.arrayBuffer()
  }

  const metrics = await get('/metrics')
  t.equal(metrics.status, 200, '/metrics (auth.metricsRequireKey not set)')
  await metrics.arrayBuffer()

  // SNS signs its own messages: the intake asks for no key, and refuses what SNS did not sign.
  const sns = (body: string) => get('/notifications/sns', { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, body })
  const cert = createSigningCertificate()
  const fields = { Type: 'Notification', TopicArn: 'arn:aws:sns:us-east-1:000000000000:anything', Message: '{}' } as const
  // Signed, but with a certificate the attacker serves: refused before anything is fetched.
  const forged = signEnvelope(fields, { privateKey: cert.privateKey, certificateUrl: 'https://attacker.example/SimpleNotificationService-x.pem' }, '2')
  const { Signature: _signature, ...unsigned } = forged
  for (const [what, body] of [['forged', forged], ['unsigned', unsigned]] as const) {
    t.match(await problem(await sns(JSON.stringify(body))), { status: 403, type: /^application\/problem\+json/, body: { code: 'sns_signature_invalid' } }, `${what} SNS message: 403, not 401`)
  }
  t.match(await problem(await sns('not json')), { status: 400, body: { code: 'bad_request' } }, 'not JSON: 400, not 401')

  // Only the /models call above counted as a refused key.
  const text = await (await get('/metrics')).text()
  t.match(text, /sagegate_auth_failures_total\{reason="missing_key"\} 1\b/)
})

t.test('auth.metricsRequireKey: /metrics needs a key; the other open routes stay open', async (t) => {
  const it = await startTestStack(t, { configure: (c) => withKeys()({ ...c, auth: { ...c.auth, metricsRequireKey: true } }) })
  const missing = await fetch(`${it.baseUrl}/metrics`)
  t.match(await problem(missing), { status: 401, body: { code: 'unauthorized' } })
  t.equal(missing.headers.get('www-authenticate'), 'Bearer realm="sagegate"')
  const keyed = await fetch(`${it.baseUrl}/metrics`, { headers: bearer(KEYS.acmeBatch) })
  t.equal(keyed.status, 200, 'any valid key')
  await keyed.arrayBuffer()
  for (const path of ['/healthz', '/readyz', '/openapi.json', '/']) {
    const res = await fetch(`${it.baseUrl}${path}`)
    t.equal(res.status, 200, `${path} open`)
    await res.arrayBuffer()
  }
})
