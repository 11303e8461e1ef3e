/**
 * Requests node:http will not send: bodies shorter or longer than their Content-Length, bad
 * chunking, Content-Length together with Transfer-Encoding, broken request lines and header syntax,
 * headers that never end, pipelined requests, bytes that are not HTTP at all. Each is written as is
 * to a node:net socket (raw-client.ts), possibly split across several writes, and the client either
 * waits for the answer or ends its side at once (half-close).
 */
import fc from 'fast-check'
import { target, type FuzzContext } from './arbitraries.js'
import { MP4_HEAD, sized, utf8, WEBM_HEAD } from './bytes.js'

export interface RawCase {
  via: 'raw'
  family: string
  /** latin1 strings, each written on its own. */
  segments: string[]
  /** After the last segment: wait for the answers, half-close at once, or reset at once. */
  end: 'wait' | 'fin' | 'rst'
  /** One per answer expected: true when it answers a HEAD. */
  heads: boolean[]
}

/** What goes before the body: request line, header lines as written, the blank line. */
interface Head {
  method: string
  target: string
  lines: string[]
  version?: string
  eol?: string
}

const HOST = 'Host: 127.0.0.1'

const headText = (h: Head): string => {
  const eol = h.eol ?? '\r\n'
  return `${h.method} ${h.target} ${h.version ?? 'HTTP/1.1'}${eol}${h.lines.map((l) => l + eol).join('')}${eol}`
}

/** A request target that takes a body: a model's jobs or predict route, with a type it accepts. */
function bodyRoute(ctx: FuzzContext): fc.Arbitrary<{ path: string; type: string }> {
  return fc.constantFrom(...ctx.models).chain((m) =>
    fc.record({
      path: fc.constantFrom(`/models/${m.name}/jobs`, `/models/${m.name}/predict`),
      type: fc.constantFrom(...m.contentTypes.map((t) => (t.includes('*') ? 'application/octet-stream' : t))),
    }),
  )
}

const text = fc.oneof(fc.constantFrom('The council met. It approved the budget.', '{"inputs":"I love this"}'), fc.string({ maxLength: 200 }).map(utf8))
const smuggled = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'

/** Body framing: header lines that declare it, and the bytes that follow. */
const contentLength: fc.Arbitrary<{ lines: string[]; body: string }> = fc.oneof(
  text.map((b) => ({ lines: [`Content-Length: ${b.length}`], body: b })),
  // Short: fewer bytes than declared (the gateway waits, then answers 408 or sees the client leave).
  fc.tuple(text, fc.constantFrom(1, 100, 70_000, 2 ** 31)).map(([b, more]) => ({ lines: [`Content-Length: ${b.length + more}`], body: b })),
  // Long: the rest is read as the next request.
  fc.tuple(text, fc.integer({ min: 1, max: 20 })).map(([b, less]) => ({ lines: [`Content-Length: ${Math.max(0, b.length - less)}`], body: b + smuggled })),
  fc.tuple(text, fc.constantFrom('abc', '-1', '1e3', '0x10', ' 10', '10 10', '+10', '10, 10', '10,11', '99999999999999999999', '', utf8('١٠'), '4\x00')).map(([b, v]) => ({ lines: [`Content-Length: ${v}`], body: b })),
  fc.tuple(text, fc.boolean()).map(([b, same]) => ({ lines: [`Content-Length: ${b.length}`, `Content-Length: ${same ? b.length : b.length + 1}`], body: b })),
  // Expect: 100-continue, then the body, or never a byte of it.
  fc.tuple(text, fc.boolean()).map(([b, send]) => ({ lines: [`Content-Length: ${b.length}`, 'Expect: 100-continue'], body: send ? b : '' })),
)

const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`
const chunked: fc.Arbitrary<{ lines: string[]; body: string }> = fc
  .tuple(fc.array(text, { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 10 }))
  .map(([parts, variant]) => {
    const good = parts.map(chunk).join('')
    const bodies = [
      `${good}0\r\n\r\n`,
      `zz\r\n${parts[0]}\r\n0\r\n\r\n`,
      `-1\r\nx\r\n0\r\n\r\n`,
      `ffffffffffffffffff\r\nx\r\n0\r\n\r\n`,
      `${parts[0]!.length.toString(16)};ext=${'e'.repeat(5000)}\r\n${parts[0]}\r\n0\r\n\r\n`,
      `${(parts[0]!.length + 5).toString(16)}\r\n${parts[0]}\r\n0\r\n\r\n`,
      `1\r\nabc\r\n0\r\n\r\n`,
      `${parts[0]!.length.toString(16)}\r\n${parts[0]}0\r\n\r\n`,
      good, // no last chunk: the body never ends
      `${good}0\r\nX-Trailer: a\r\nContent-Length: 5\r\n\r\n`,
      parts.map((s) => `${s.length.toString(16)}\n${s}\n`).join('') + '0\n\n',
    ]
    return { lines: ['Transfer-Encoding: chunked'], body: bodies[variant]! }
  })

/** Content-Length and Transfer-Encoding together (RFC 9112 §6.1: a smuggling vector), and odd codings. */
const conflicting: fc.Arbitrary<{ lines: string[]; body: string }> = fc.oneof(
  fc.tuple(text, fc.boolean()).map(([b, teFirst]) => {
    const lines = ['Transfer-Encoding: chunked', `Content-Length: ${b.length + 5}`]
    return { lines: teFirst ? lines : lines.reverse(), body: `${chunk(b)}0\r\n\r\n` }
  }),
  text.map((b) => ({ lines: ['Content-Length: 4', 'Transfer-Encoding: chunked'], body: `${chunk(b)}0\r\n\r\n${smuggled}` })),
  fc.tuple(text, fc.constantFrom('gzip', 'chunked, gzip', 'gzip, chunked', 'xchunked', 'Chunked', ' chunked', 'chunked\x0b', 'identity', 'chunked, chunked', 'chunked;q=1', '')).map(([b, te]) => ({
    lines: [`Transfer-Encoding: ${te}`],
    body: `${chunk(b)}0\r\n\r\n`,
  })),
  text.map((b) => ({ lines: ['Transfer-Encoding: chunked', 'Transfer-Encoding: gzip'], body: `${chunk(b)}0\r\n\r\n` })),
  text.map((b) => ({ lines: ['Transfer-Encoding:', ' chunked'], body: `${chunk(b)}0\r\n\r\n` })),
)

const MiB = 1024 * 1024

/**
 * Bodies past the gateway's part size (S3 multipart), whole or stopping partway (then the client
 * waits, half-closes or resets: see RawCase.end); behind a video signature when the type is a video.
 */
function large(type: string): fc.Arbitrary<{ lines: string[]; body: string }> {
  const head = type === 'video/webm' ? WEBM_HEAD : type.startsWith('video/') ? MP4_HEAD : ''
  return fc.record({ size: fc.constantFrom(5.5 * MiB, 7 * MiB), sent: fc.constantFrom(0.6, 1), chunked: fc.boolean() }).map(({ size, sent, chunked: c }) => {
    const bytes = head + sized('lorem ipsum ', Math.floor(size * sent) - head.length)
    if (!c) return { lines: [`Content-Length: ${Math.floor(size)}`], body: bytes }
    return { lines: ['Transfer-Encoding: chunked'], body: chunk(bytes) + (sent === 1 ? '0\r\n\r\n' : '') }
  })
}

const kinds = (type: string): fc.Arbitrary<[string, { lines: string[]; body: string }]> =>
  fc.oneof(
    { weight: 3, arbitrary: contentLength.map((f): [string, typeof f] => ['framing/content-length', f]) },
    { weight: 3, arbitrary: chunked.map((f): [string, typeof f] => ['framing/chunked', f]) },
    { weight: 3, arbitrary: conflicting.map((f): [string, typeof f] => ['framing/cl+te', f]) },
    { weight: 1, arbitrary: large(type).map((f): [string, typeof f] => ['framing/large-body', f]) },
  )

/** A body route, framed in one of the ways above. */
function framed(ctx: FuzzContext): fc.Arbitrary<[string, string]> {
  return bodyRoute(ctx).chain((route) =>
    kinds(route.type).map(([family, f]): [string, string] => [family, headText({ method: 'POST', target: route.path, lines: [HOST, `Content-Type: ${route.type}`, ...f.lines] }) + f.body]),
  )
}

/** Broken header syntax: no colon, space before the colon, folding, NUL, CR, bare LF, non-ASCII names, missing or repeated Host, too many or too large. */
function headerSyntax(ctx: FuzzContext): fc.Arbitrary<[string, string]> {
  const bad = fc.constantFrom(
    ['NoColon'], [' leading: x'], ['Name : x'], ['Na me: x'], ['X: a\rb'], ['X: a\x00b'], ['X: a\nY: b'], ['X: a', ' folded'], [': empty-name'],
    [utf8('Ünï: x')], ['X-Custom-Attributes: a\r\nX-Injected: 1'], ['Content-Type: text/plain\x00video/mp4'], [`X: ${utf8('café ☕')}`],
    [`X: ${'h'.repeat(20_000)}`], Array.from({ length: 2000 }, (_, i) => `X-${i}: ${i}`), ['Host: a', 'Host: b'], ['Host: ' + 'h'.repeat(300)], ['Host: a b'],
  )
  return fc.tuple(target(ctx), bad, fc.boolean()).map(([t, lines, host]) => [
    'framing/header-syntax',
    headText({ method: t.method, target: t.path, lines: [...(host && !lines.some((l) => l.startsWith('Host')) ? [HOST] : []), ...lines] }),
  ])
}

/** Broken request lines: methods, targets with raw spaces, control characters or UTF-8, versions, line ends. */
function requestLine(ctx: FuzzContext): fc.Arbitrary<[string, string]> {
  return fc
    .record({
      t: target(ctx),
      method: fc.option(fc.constantFrom('get', 'G ET', '', 'X'.repeat(1000), 'CONNECT', 'PRI', 'GET\x00', utf8('GÉT')), { nil: undefined }),
      path: fc.option(fc.constantFrom('/models/echo predict', '/healthz\x00', '/jobs/\x01\x02', '/models/\x7f', `/models/${utf8('mödel')}`, '*', 'http://127.0.0.1/healthz', 'healthz', '', `/${'p'.repeat(10_000)}`, '//', '/models/echo/predict#f', '\t/healthz'), { nil: undefined }),
      version: fc.option(fc.constantFrom('HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 extra', 'HTTP/11', '', 'HTTP/1.1\x00'), { nil: undefined }),
      eol: fc.constantFrom('\r\n', '\r\n', '\n', '\r'),
    })
    .map(({ t, method, path, version, eol }) => ['framing/request-line', headText({ method: method ?? t.method, target: path ?? t.path, lines: [HOST], eol, ...(version !== undefined ? { version } : {}) })])
}

/** Requests cut short inside the request line or headers, and bytes that are not HTTP/1.x at all. */
function truncatedOrGarbage(ctx: FuzzContext): fc.Arbitrary<[string, string]> {
  const cut = fc.tuple(target(ctx), fc.double({ min: 0, max: 0.999, noNaN: true })).map(([t, at]): [string, string] => {
    const full = headText({ method: t.method, target: t.path, lines: [HOST, 'Content-Type: text/plain'] })
    return ['framing/partial-head', full.slice(0, Math.max(1, Math.floor(full.length * at)))]
  })
  const garbage = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.constantFrom('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03', '\r\n\r\n\r\n', 'GET /\r\n', '\x00'.repeat(100), sized('GET / HTTP/1.1\r\n', 20_000)),
  )
  return fc.oneof(cut, garbage.map((g): [string, string] => ['framing/garbage', g]))
}

/** Several requests back to back on one connection; HEADs among them. */
function pipelined(ctx: FuzzContext): fc.Arbitrary<{ wire: string; heads: boolean[] }> {
  const one = target(ctx).map((t) => ({ method: t.method, text: headText({ method: t.method, target: t.path, lines: [HOST] }) }))
  return fc.array(one, { minLength: 2, maxLength: 4 }).map((rs) => ({ wire: rs.map((r) => r.text).join(''), heads: rs.map((r) => r.method === 'HEAD') }))
}

/** Where to split the bytes into separate writes. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 })

function split(wire: string, at: number[]): string[] {
  const points = [...new Set(at.map((a) => Math.floor(a * wire.length)))].filter((p) => p > 0 && p < wire.length).sort((a, b) => a - b)
  const out: string[] = []
  let last = 0
  for (const p of points) {
    out.push(wire.slice(last, p))
    last = p
  }
  out.push(wire.slice(last))
  return out
}

/** Every framing attack above, and a connection that sends nothing at all. */
export function rawCase(ctx: FuzzContext): fc.Arbitrary<RawCase> {
  const single = fc.oneof({ weight: 4, arbitrary: framed(ctx) }, headerSyntax(ctx), requestLine(ctx), { weight: 2, arbitrary: truncatedOrGarbage(ctx) })
  const shaped = fc.oneof(
    { weight: 8, arbitrary: single.map(([family, wire]) => ({ family, wire, heads: [wire.startsWith('HEAD ')] })) },
    { weight: 1, arbitrary: pipelined(ctx).map((p) => ({ family: 'framing/pipelined', ...p })) },
    { weight: 1, arbitrary: fc.constant({ family: 'framing/silent', wire: '', heads: [false] as boolean[] }) },
  )
  const end = fc.constantFrom<RawCase['end']>('wait', 'wait', 'fin', 'rst')
  return fc.record({ shaped, at: cuts, end }).map(({ shaped: s, at, end: e }) => ({
    via: 'raw',
    family: s.family,
    segments: s.wire === '' ? [] : split(s.wire, at),
    end: e,
    heads: s.heads,
  }))
}
