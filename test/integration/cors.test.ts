import { request } from 'node:http'
import t from 'tap'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { startTestStack } from '../helpers/stack.js'

const APP = 'https://app.example.com'

/** A request with the headers exactly as given (fetch would not let a test set Origin). */
function send(url: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

// What Chromium sends before a fetch() with these headers from the page's origin.
const chromePreflight = (origin: string) => ({
  origin,
  'access-control-request-method': 'POST',
  'access-control-request-headers': 'authorization,content-type,idempotency-key,x-custom-attributes,x-request-id',
  'sec-fetch-mode': 'cors',
  'sec-fetch-site': 'cross-site',
  'sec-fetch-dest': 'empty',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  accept: '*/*',
})

t.test('a configured origin: preflight allowed without a key, answers readable and their headers exposed', async (t) => {
  const it = await startTestStack(t, { configure: withKeys({}, { cors: { origins: [APP], maxAgeSeconds: 600 } }) })
  const pre = await send(`${it.baseUrl}/models/summarize/jobs`, 'OPTIONS', chromePreflight(APP))
  t.equal(pre.status, 204)
  t.equal(pre.headers['access-control-allow-origin'], APP)
  t.match(pre.headers['access-control-allow-methods'], /POST/)
  const allowed = String(pre.headers['access-control-allow-headers']).split(',').map((h) => h.trim())
  for (const h of ['authorization', 'content-type', 'x-custom-attributes', 'idempotency-key', 'x-request-id']) t.ok(allowed.includes(h), `allows ${h}`)
  t.equal(pre.headers['access-control-max-age'], '600')
  t.match(pre.headers.vary, /Origin/i)

  // The answer itself, even a refusal, carries what the page needs to read it.
  const refused = await send(`${it.baseUrl}/models`, 'GET', { origin: APP })
  t.equal(refused.status, 401)
  t.equal(refused.headers['access-control-allow-origin'], APP)
  const job = await send(`${it.baseUrl}/models/summarize/jobs`, 'POST', { origin: APP, ...bearer(KEYS.acmeWeb), 'content-type': 'text/plain' }, 'A short text. It has two sentences.')
  t.equal(job.status, 202)
  t.equal(job.headers['access-control-allow-origin'], APP)
  const exposed = String(job.headers['access-control-expose-headers']).split(',').map((h) => h.trim())
  for (const h of ['location', 'retry-after', 'x-inference-id', 'x-invoked-variant', 'x-custom-attributes', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) {
    t.ok(exposed.includes(h), `exposes ${h}`)
  }
})

t.test('any other origin gets no CORS headers; without configured origins there is no CORS at all', async (t) => {
  const it = await startTestStack(t, { configure: withKeys({}, { cors: { origins: [APP], maxAgeSeconds: 600 } }) })
  for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com', 'null']) {
    const pre = await send(`${it.baseUrl}/models/summarize/jobs`, 'OPTIONS', chromePreflight(origin))
    t.equal(pre.headers['access-control-allow-origin'], undefined, `preflight from ${origin}`)
    const res = await send(`${it.baseUrl}/models`, 'GET', { origin, ...bearer(KEYS.acmeWeb) })
    t.equal(res.headers['access-control-allow-origin'], undefined, `answer to ${origin}`)
  }
  const closed = await startTestStack(t, { configure: withKeys() })
  const pre = await send(`${closed.baseUrl}/models/summarize/jobs`, 'OPTIONS', chromePreflight(APP))
  t.equal(pre.headers['access-control-allow-origin'], undefined)
  t.equal(pre.status, 404, 'no preflight route')
})
