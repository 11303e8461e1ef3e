import t from 'tap'
import { startTestStack, waitForJob } from '../helpers/stack.js'

// The echo handler behind an async endpoint: the output is the input, with the input's content type,
// so a job can produce whatever type a model might (an HTML page, an SVG, JSON).
const options = {
  endpoints: [{ name: 'echo-async', mode: 'async' as const, handler: 'echo', maxConcurrentInvocationsPerInstance: 2, instanceCount: 1 }],
  models: { echo: { mode: 'async', endpointName: 'echo-async', contentTypes: ['text/html', 'application/json', 'image/svg+xml'], maxBytes: 64 * 1024 } },
}

async function completedJob(baseUrl: string, contentType: string, body: string): Promise<string> {
  const res = await fetch(`${baseUrl}/models/echo/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body })
  if (res.status !== 202) throw new Error(`job not created: ${res.status} ${await res.text()}`)
  const { id } = (await res.json()) as { id: string }
  const done = await waitForJob(baseUrl, id)
  if (done.status !== 'completed') throw new Error(`job ${done.status}: ${JSON.stringify(done.error)}`)
  return id
}

const headersOf = (res: Response) => Object.fromEntries(res.headers)
const protective = { 'x-content-type-options': 'nosniff', 'cache-control': 'private, no-store', 'content-security-policy': 'sandbox' }
/** The protective headers exactly (t.match would accept a value that merely contains them). */
const protectionOf = (res: Response) => Object.fromEntries(Object.keys(protective).map((k) => [k, res.headers.get(k)]))

t.test("a model's HTML is a sandboxed attachment; its JSON is inline; 304 for a current copy", async (t) => {
  const it = await startTestStack(t, options)
  const page = '<!doctype html><script>fetch("/jobs").then(r => r.text()).then(alert)</script>'
  const html = await completedJob(it.baseUrl, 'text/html; charset=utf-8', page)
  const json = await completedJob(it.baseUrl, 'application/json', '{"label":"cat"}')

  const get = await fetch(`${it.baseUrl}/jobs/${html}/result`)
  t.equal(get.status, 200)
  t.equal(await get.text(), page, 'the bytes are unchanged')
  t.same(protectionOf(get), protective)
  t.match(headersOf(get), { 'content-type': 'text/html; charset=utf-8', 'content-disposition': `attachment; filename="${html}.html"` })
  const head = await fetch(`${it.baseUrl}/jobs/${html}/result`, { method: 'HEAD' })
  t.same(protectionOf(head), protective, 'HEAD too')
  t.match(headersOf(head), { 'content-disposition': `attachment; filename="${html}.html"` }, 'HEAD too')

  const inline = await fetch(`${it.baseUrl}/jobs/${json}/result`)
  t.same(await inline.json(), { label: 'cat' })
  t.same(protectionOf(inline), protective)
  t.equal(inline.headers.get('content-type'), 'application/json')
  t.equal(inline.headers.get('content-disposition'), null, 'JSON is shown, not downloaded')

  const etag = get.headers.get('etag')!
  t.match(etag, /^"[^"]+"$/, 'S3 gave an ETag')
  for (const method of ['GET', 'HEAD']) {
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const res = await fetch(`${it.baseUrl}/jobs/${html}/result`, { method, headers: { 'if-none-match': inm, range: 'bytes=0-3' } })
      t.equal(res.status, 304, `${method} If-None-Match: ${inm}`)
      t.equal(await res.text(), '')
      t.same(protectionOf(res), protective)
      t.match(headersOf(res), { etag, 'content-disposition': /^attachment/ })
    }
  }
  const stale = await fetch(`${it.baseUrl}/jobs/${html}/result`, { headers: { 'if-none-match': '"stale"', range: 'bytes=0-8' } })
  t.equal(stale.status, 206, 'a stale copy gets the range')
  t.equal(await stale.text(), '<!doctype')
  t.same(protectionOf(stale), protective)
})

t.test('an SVG result is an attachment too (it can run script)', async (t) => {
  const it = await startTestStack(t, options)
  const id = await completedJob(it.baseUrl, 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
  const res = await fetch(`${it.baseUrl}/jobs/${id}/result`)
  t.equal(res.headers.get('content-disposition'), `attachment; filename="${id}.svg"`)
  t.equal(res.headers.get('content-security-policy'), 'sandbox')
  await res.arrayBuffer()
})
