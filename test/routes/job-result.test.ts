import t, { type Test } from 'tap'
import { buildTestApp } from '../helpers/app.js'

/** A completed job whose output has `contentType`, and a log of the S3 calls made on that output. */
async function completed(t: Test, contentType: string, body = '0123456789') {
  const ctx = await submitted(t)
  const { id, output } = ctx
  await ctx.store.putSmall(output, body, contentType)
  const calls: string[] = []
  const { store } = ctx
  const head = store.head.bind(store)
  const get = store.get.bind(store)
  store.head = async (loc) => (loc.key === output.key && calls.push('head'), head(loc))
  store.get = async (loc, o) => (loc.key === output.key && calls.push('get'), get(loc, o))
  return { ...ctx, id, url: `/jobs/${id}/result`, calls }
}

const protective = { 'x-content-type-options': 'nosniff', 'cache-control': 'private, no-store', 'content-security-policy': 'sandbox' }
/** The protective headers exactly (t.match would accept a value that merely contains them). */
const protectionOf = (headers: Record<string, unknown>) => Object.fromEntries(Object.keys(protective).map((k) => [k, headers[k]]))

t.test('an active type is an attachment, sandboxed, nosniff, never stored (GET and HEAD)', async (t) => {
  const { app, id, url } = await completed(t, 'text/html; charset=utf-8', '<script>alert(1)</script>')
  for (const method of ['GET', 'HEAD'] as const) {
    const res = await app.inject({ method, url })
    t.equal(res.statusCode, 200, method)
    t.same(protectionOf(res.headers), protective, method)
    t.match(res.headers, { 'content-disposition': `attachment; filename="${id}.html"`, 'content-type': 'text/html; charset=utf-8' }, method)
  }
})

t.test('JSON is served inline, with the same protection', async (t) => {
  const { app, url } = await completed(t, 'application/json', '{"ok":true}')
  const res = await app.inject(url)
  t.equal(res.body, '{"ok":true}')
  t.same(protectionOf(res.headers), protective)
  t.notOk('content-disposition' in res.headers)
})

t.test('an unconditional GET is one GetObject, no HEAD', async (t) => {
  const { app, url, calls } = await completed(t, 'text/plain')
  t.equal((await app.inject(url)).body, '0123456789')
  t.same(calls, ['get'])
})

t.test('If-None-Match with the ETag: 304 with the validators and protection, no body read', async (t) => {
  const { app, url, calls } = await completed(t, 'image/svg+xml')
  for (const inm of ['"x"', 'W/"x"', '"other", "x"', '*']) {
    for (const method of ['GET', 'HEAD'] as const) {
      calls.length = 0
      const res = await app.inject({ method, url, headers: { 'if-none-match': inm } })
      t.equal(res.statusCode, 304, `${method} ${inm}`)
      t.equal(res.body, '')
      t.same(protectionOf(res.headers), protective)
      t.match(res.headers, { etag: '"x"', 'content-disposition': /^attachment/ })
      t.notOk('content-length' in res.headers || 'content-type' in res.headers, 'no representation metadata')
      t.same(calls, ['head'], 'one HEAD, no GetObject')
    }
  }
})

t.test('If-None-Match is evaluated before Range; a stale tag gets the range', async (t) => {
  const { app, url, calls } = await completed(t, 'text/plain')
  t.equal((await app.inject({ url, headers: { 'if-none-match': '"x"', range: 'bytes=2-4' } })).statusCode, 304)
  t.equal((await app.inject({ url, headers: { 'if-none-match': '"x"', range: 'bytes=99-' } })).statusCode, 304, 'not 416')
  calls.length = 0
  const part = await app.inject({ url, headers: { 'if-none-match': '"stale"', range: 'bytes=2-4' } })
  t.equal(part.statusCode, 206)
  t.equal(part.body, '234')
  t.same(calls, ['head', 'get'])
  const whole = await app.inject({ url, headers: { 'if-none-match': '"stale"' } })
  t.equal(whole.statusCode, 200)
  t.equal(whole.body, '0123456789')
})

t.test('a job that is not completed is still 409 for a conditional request', async (t) => {
  const { app, store, id } = await completed(t, 'text/plain')
  store.objects.delete(`out/results/${id}.out`)
  t.equal((await app.inject({ url: `/jobs/${id}/result`, headers: { 'if-none-match': '*' } })).statusCode, 409)
})

/** A job just submitted (its output not written yet) and where its output goes. */
async function submitted(t: Test) {
  const ctx = await buildTestApp()
  t.teardown(() => ctx.app.close())
  const res = await ctx.app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'Some text.' })
  const id = res.json().id as string
  return { ...ctx, id, output: { bucket: 'out', key: `results/${id}.out` } }
}

t.test('a job that completes while its result is asked for: the result, not a 409 that says completed (the fuzz run found a 500)', async (t) => {
  const ctx = await submitted(t)
  const { store, id, output } = ctx
  const get = store.get.bind(store)
  const head = store.head.bind(store)
  // The output is written by the endpoint just after the gateway's first look at it.
  for (const [method, first] of [
    ['GET', 'get'],
    ['HEAD', 'head'],
  ] as const) {
    const looks: string[] = []
    let written = false
    const look = async <R>(what: string, loc: { key: string }, read: () => Promise<R>): Promise<R> => {
      if (loc.key !== output.key) return read()
      looks.push(what)
      const answer = await read()
      if (!written && what === first) {
        written = true
        await store.putSmall(output, '{"done":true}', 'application/json')
      }
      return answer
    }
    store.get = (loc, o) => look('get', loc, () => get(loc, o))
    store.head = (loc) => look('head', loc, () => head(loc))
    const answer = await ctx.app.inject({ method, url: `/jobs/${id}/result` })
    t.equal(answer.statusCode, 200, `${method}: ${answer.body}`)
    if (method === 'GET') t.equal(answer.body, '{"done":true}')
    t.ok(looks.length >= 2, `${method}: looked again (${looks.join(', ')})`)
    await store.delete(output)
  }
})

t.test('an output reported by the status check and then missing again is a 503, not a loop', async (t) => {
  const ctx = await submitted(t)
  const { store, id, output } = ctx
  await store.putSmall(output, 'x', 'text/plain')
  const get = store.get.bind(store)
  let gets = 0
  store.get = async (loc, o) => (loc.key === output.key ? (gets++, undefined) : get(loc, o))
  const answer = await ctx.app.inject({ method: 'GET', url: `/jobs/${id}/result` })
  t.equal(answer.statusCode, 503)
  t.equal(answer.json().code, 'upstream_unavailable')
  t.equal(gets, 2, 'two reads, then the answer')
})
