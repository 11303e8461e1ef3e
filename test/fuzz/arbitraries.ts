/**
 * Generators for requests that are well-formed HTTP (node:http can send them) but hostile in their
 * paths, names, ids, methods, headers and bodies. Framing attacks, which node:http refuses to send,
 * are in framing.ts. Everything on the wire is a latin1 string: one character per byte, so a case
 * prints readably and replays exactly.
 */
import fc from 'fast-check'
import { MP4_HEAD, pathSafe, pct, sized, utf8, WEBM_HEAD } from './bytes.js'
import { multipartBody } from './multipart.js'

export interface ModelInfo {
  name: string
  mode: string
  contentTypes: string[]
}

export interface FuzzContext {
  /** The gateway's models (GET /models), so that junk reaches every one of them. */
  models: ModelInfo[]
}

/** Stand-ins for ids of jobs that exist, replaced when the request is sent (see harness.ts). */
export const JOB = { completed: '{job:completed}', failed: '{job:failed}', latest: '{job:latest}' } as const

export interface HttpCase {
  via: 'http'
  /** Which generator made it, for the summary. */
  family: string
  method: string
  /** The request target as sent: already percent-encoded, or deliberately not. */
  path: string
  headers: Array<[string, string]>
  /** latin1: one character per byte. */
  body?: string
  /** Transfer-Encoding: chunked instead of Content-Length. */
  chunked: boolean
}

const graphemes = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max })
const LENGTHS = [64, 65, 100, 101, 255, 256, 1024, 1025, 5000] as const

export const injections = [
  '${jndi:ldap://127.0.0.1:1/a}',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '"; DROP TABLE jobs; --',
  '{{7*7}}',
  '$(touch /tmp/x)',
  '`id`',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%0d%0aSet-Cookie: a=b',
  '\\r\\nX-Injected: 1',
  '__proto__',
  'constructor',
  '{"__proto__":{"polluted":1}}',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e309',
  'A'.repeat(300),
] as const

/** A model name as a path segment: real, disguised, traversing, encoded, control characters, unicode, huge. */
export function nameSegment(ctx: FuzzContext): fc.Arbitrary<string> {
  const names = ctx.models.map((m) => m.name)
  const real = fc.constantFrom(...names)
  return fc.oneof(
    { weight: 8, arbitrary: real },
    { weight: 1, arbitrary: fc.tuple(real, fc.boolean()).map(([n, upper]) => pct(n, upper)) },
    { weight: 1, arbitrary: real.map((n) => n.toUpperCase()) },
    { weight: 1, arbitrary: fc.tuple(real, fc.constantFrom('/', '%2F', '%2f', '%00', '.', '..', '%20', ';a=b', '.tar.gz', '%0A', '?', '#')).map(([n, s]) => n + s) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '..', '.', '..%2F..%2Fjobs', '..%2f..%2fhealthz', '%2e%2e', '%2E%2E%2F%2E%2E%2Fmetrics', '..%252F..%252F', '..%5C..%5C', '....//',
        '%C0%AE%C0%AE%C0%AF', '%00', '%', '%zz', '%E0%A4', '%ff', '%u002e', '*', '~', '+', '%20', 'models', 'mme-realtime',
        'echo.tar.gz', 'models%2Fmme-realtime%2Fecho', 'sagegate%2Fjobs',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(...injections).map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 31 }), fc.option(real, { nil: '' })).map(([c, n]) => `${n}%${c.toString(16).padStart(2, '0')}${n}`) },
    { weight: 1, arbitrary: graphemes(20).map((s) => encodeURIComponent(s)) },
    // Raw UTF-8 bytes in the path (Node's parser decides; node:http lets bytes ≥ 0x80 through).
    { weight: 1, arbitrary: graphemes(12).map((s) => pathSafe(utf8(s))) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...names, 'a', '%41', '..%2F'), fc.constantFrom(...LENGTHS)).map(([n, len]) => sized(n, len)) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~-]{1,40}$/) },
  )
}

/** A job id as a path segment: jobs that exist, well-formed unknown ids, and hostile ones. */
export function jobIdSegment(): fc.Arbitrary<string> {
  const known = fc.constantFrom(JOB.completed, JOB.failed, JOB.latest)
  return fc.oneof(
    { weight: 4, arbitrary: known },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{22}$/) },
    { weight: 1, arbitrary: fc.tuple(known, fc.constantFrom('x', '%00', '%2F..%2Fjob.json', '%2Finput', '/../input', '.', '%20', '=', 'A'.repeat(64))).map(([k, s]) => k + s) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '..', '..%2F..%2Fmodels', 'job.json', '%2e%2e%2fjob.json', 'input', '%00', '%', '%zz', '*', '-', '_', '0',
        'AAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAA=', 'AAAAAAAAAAAAAAAAAAAA%2F', 'AAAAAAAAAAAAAAAAAAAAA%00',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(...LENGTHS).map((n) => sized('A', n)) },
    { weight: 1, arbitrary: graphemes(22).map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.constantFrom(...injections).map((s) => encodeURIComponent(s)) },
  )
}

const query = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '?stream=true', '?stream=1', '?stream=false', '?stream=', '?stream=true&stream=true', '?stream[]=true', '?wait=5', '?wait=-1',
      '?', '??', '?%', '?a=%zz', '?__proto__[x]=1', '?constructor[prototype][x]=1', '?a=1&a=2', `?x=${'q'.repeat(5000)}`, '?%00=%00', '#frag',
    ),
  },
  { weight: 1, arbitrary: fc.webQueryParameters().map((q) => `?${q}`) },
)

export interface Target {
  path: string
  /** The method this route answers; other methods are tried too. */
  method: string
  /** The route it aims at, for the summary. */
  route: string
}

/** A request target on every route of the gateway, and beside them. */
export function target(ctx: FuzzContext): fc.Arbitrary<Target> {
  const name = nameSegment(ctx)
  const id = jobIdSegment()
  const route = fc.oneof(
    fc.constantFrom('/healthz', '/readyz', '/metrics', '/models').map((path): Target => ({ path, method: 'GET', route: path })),
    name.map((n): Target => ({ path: `/models/${n}`, method: 'GET', route: '/models/:name' })),
    name.map((n): Target => ({ path: `/models/${n}/jobs`, method: 'POST', route: '/models/:name/jobs' })),
    name.map((n): Target => ({ path: `/models/${n}/predict`, method: 'POST', route: '/models/:name/predict' })),
    fc.tuple(id, fc.constantFrom('GET', 'HEAD')).map(([i, method]): Target => ({ path: `/jobs/${i}`, method, route: '/jobs/:id' })),
    fc.tuple(id, fc.constantFrom('GET', 'HEAD')).map(([i, method]): Target => ({ path: `/jobs/${i}/result`, method, route: '/jobs/:id/result' })),
  )
  const beside = fc.oneof(
    fc.constantFrom(
      '/', '//healthz', '/healthz/', '/HEALTHZ', '/models/', '/models//jobs', '/models//predict', '/jobs', '/jobs/', '/jobs//result',
      '/models/echo/jobs/extra', '/models/echo/predict/', '/openapi.json', '/uploads', '/docs', '/notifications/sns', '/%2e%2e/healthz',
      '/./models', '/models/../healthz', '/models/%2e%2e/healthz', '/jobs/x/result/..', '/favicon.ico', '/metrics/../models', '/.env',
      '/sagegate/jobs', '/sagegate-local/sagegate/jobs', `/${'a'.repeat(5000)}`, `/models/${'%2F'.repeat(2000)}`,
    ),
    fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
  )
  const t = fc.oneof({ weight: 4, arbitrary: route }, { weight: 1, arbitrary: beside.map((path): Target => ({ path, method: 'GET', route: 'elsewhere' })) })
  return fc.tuple(t, query).map(([x, q]) => ({ ...x, path: pathSafe(x.path + q) }))
}

/** The route's own method most of the time; every other method (and some that are not) too. */
export function method(natural: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(natural) },
    { weight: 3, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') },
    { weight: 1, arbitrary: fc.constantFrom('TRACE', 'PROPFIND', 'MKCOL', 'PURGE', 'QUERY', 'FOO', 'get', 'Post', 'M-SEARCH', 'X'.repeat(100)) },
  )
}

/** Header values: plain, huge, non-ASCII (latin1 and raw UTF-8 bytes), injection attempts. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...injections) },
  { weight: 1, arbitrary: graphemes(30).map((s) => utf8(s).replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')) },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(...LENGTHS, 8000).map((n) => sized('v', n)) },
)

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,30}$/)

/** Content types: what the models accept, with parameters and case changes, and what they do not. */
export function contentType(ctx: FuzzContext): fc.Arbitrary<string> {
  const accepted = [...new Set(ctx.models.flatMap((m) => m.contentTypes).filter((t) => !t.includes('*')))]
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...accepted, 'application/octet-stream') },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...accepted), fc.constantFrom('; charset=utf-8', ';charset="utf-8"', '; q', ';;', `; x=${'y'.repeat(2000)}`, ' ; a=ü')).map(([t, p]) => utf8(t + p)) },
    { weight: 1, arbitrary: fc.constantFrom(...accepted).map((t) => t.toUpperCase()) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '', ' ', 'text', 'text/', '/plain', '*/*', 'text/*', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16',
        'multipart/form-data', 'multipart/form-data; boundary=', 'multipart/mixed; boundary=x', 'video/mp4; codecs="avc1.42E01E"',
        `text/plain; a=${'x'.repeat(2000)}`, 'text/plain\t', 'text/plain, video/mp4', 'image/png', utf8('text/plaïn'),
      ),
    },
  )
}

const h = (name: string) => (value: string): Array<[string, string]> => [[name, value]]

/** Extra headers: the ones the gateway reads, and junk; sometimes huge, repeated or non-ASCII. */
export function headers(ctx: FuzzContext): fc.Arbitrary<Array<[string, string]>> {
  const range = fc.oneof(
    fc.constantFrom('bytes=0-10', 'bytes=-5', 'bytes=5-', 'bytes=10-5', 'bytes=0-1,3-4', 'bytes=0-0,-1', 'bytes=99999999999999999999-', 'bytes=-0', 'items=0-1', 'bytes=', 'bytes=a-b', `bytes=${'0-1,'.repeat(500)}0-1`),
    fc.tuple(fc.nat(5000), fc.nat(5000)).map(([a, b]) => `bytes=${a}-${b}`),
  )
  const one: fc.Arbitrary<Array<[string, string]>> = fc.oneof(
    contentType(ctx).map(h('content-type')),
    fc.oneof(headerValue, fc.constantFrom('fps=2', 'a=b', sized('a', 1025))).map(h('x-custom-attributes')),
    range.map(h('range')),
    fc.constantFrom('100-continue', '100-CONTINUE', 'foo').map(h('expect')),
    headerValue.map(h('x-request-id')),
    headerValue.map(h('x-inference-id')),
    headerValue.map(h('accept')),
    fc.oneof(headerValue, headerValue.map((v) => `Bearer ${v}`)).map(h('authorization')),
    fc.tuple(fc.constantFrom('x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'origin', 'cookie', 'if-none-match', 'if-range', 'accept-encoding', 'te', 'x-amz-security-token'), headerValue).map(([n, v]) => h(n)(v)),
    fc.constantFrom<Array<[string, string]>>([['connection', 'close']], [['connection', 'Upgrade'], ['upgrade', 'websocket']], [['connection', 'upgrade'], ['upgrade', 'h2c']], [['connection', 'keep-alive, x-custom-attributes']]),
    fc.tuple(token, headerValue).map(([n, v]) => h(n)(v)),
    // Big headers: near and past Node's 16 KiB limit on the whole header block.
    fc.constantFrom(8000, 15_000, 17_000, 70_000).map((n) => h('x-fuzz-big')(sized('b', n))),
    // Repeated: the same header many times, and conflicting content types.
    fc.tuple(fc.constantFrom('x-custom-attributes', 'content-type', 'x-request-id', 'range', 'accept', 'x-dup', 'host'), fc.array(headerValue, { minLength: 2, maxLength: 60 })).map(([n, vs]) => vs.map((v): [string, string] => [n, v])),
  )
  return fc.array(one, { maxLength: 4 }).map((xs) => xs.flat())
}


/** Bodies: none, empty, text, JSON, binary junk, junk behind a video signature, large. */
export const body: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 300 }).map(utf8) },
  { weight: 1, arbitrary: fc.constantFrom('The council met. It approved the budget. Buses run later.', '{"inputs":"I love this"}', '{"inputs":"Où est la gare ?"}') },
  { weight: 2, arbitrary: fc.oneof(fc.jsonValue(), fc.record({ inputs: fc.jsonValue() })).map((v) => utf8(JSON.stringify(v) ?? 'null')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b).toString('latin1')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(MP4_HEAD, WEBM_HEAD, MP4_HEAD.slice(0, 7)), fc.uint8Array({ maxLength: 512 })).map(([h, b]) => h + Buffer.from(b).toString('latin1')) },
  { weight: 1, arbitrary: fc.constantFrom(64 * 1024, 256 * 1024).map((n) => sized('junk ', n)) },
)

/** Any route, any method, extra headers, any body. */
export function routeCase(ctx: FuzzContext): fc.Arbitrary<HttpCase> {
  return target(ctx)
    .chain((t) => fc.record({ method: method(t.method), headers: headers(ctx), body, chunked: fc.boolean() }).map((r) => ({ ...r, path: t.path, route: t.route })))
    .map(({ route, ...r }): HttpCase => ({ via: 'http', family: `route:${route}`, ...r }))
}

/** Junk to every model, on both model routes: its own content types and others, raw or as a form. */
export function junkToModelCase(ctx: FuzzContext): fc.Arbitrary<HttpCase> {
  return fc.constantFrom(...ctx.models).chain((m) => {
    const type = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...m.contentTypes.map((t) => (t.includes('*') ? 'application/octet-stream' : t))) }, contentType(ctx))
    const raw = fc.tuple(type, body).map(([ct, b]) => ({ headers: [['content-type', ct]] as Array<[string, string]>, body: b ?? '' }))
    const form = multipartBody(m.contentTypes).map((f) => ({ headers: [['content-type', f.contentType]] as Array<[string, string]>, body: f.body }))
    return fc.record({
      route: fc.constantFrom('jobs', 'predict'),
      payload: fc.oneof({ weight: 3, arbitrary: raw }, form),
      extra: headers(ctx),
      chunked: fc.boolean(),
      query,
    }).map((r): HttpCase => ({
      via: 'http',
      family: `junk:${r.route}:${m.name}`,
      method: 'POST',
      path: pathSafe(`/models/${m.name}/${r.route}${r.query}`),
      headers: [...r.payload.headers, ...r.extra],
      body: r.payload.body,
      chunked: r.chunked,
    }))
  })
}
