/**
 * Sends one generated case over a real socket and judges the answer. Per request, the properties
 * are: no 5xx; every error answer is an `application/problem+json` document with a `code`; an answer
 * (or the server closing the connection) within the budget, i.e. no hang; a 202 names its job and
 * where to find it. A well-formed request that was sent whole must get an answer, not just a close;
 * an X-Request-Id or X-Inference-Id that no validation would pass does not come back in a header.
 */
import { request, type ClientRequest } from 'node:http'
import { JOB, type HttpCase } from './arbitraries.js'
import type { RawCase } from './framing.js'
import { sendRaw } from './raw-client.js'

export type FuzzCase = HttpCase | RawCase

export interface SendContext {
  host: string
  port: number
  /** The answer, or the server's close, must come within this (the gateway's timeouts plus a margin). */
  budgetMs: number
  /** Added to every request (API keys, once the gateway has them). */
  authHeaders: Array<[string, string]>
  /** Ids of jobs that exist, for the JOB stand-ins; `latest` is the last job accepted during the run. */
  jobs: { completed: string; failed: string; latest: () => string }
}

export interface Outcome {
  family: string
  /** The class of the first answer: `404 route_not_found`, `200`, or `closed`, `reset`, `hang`. */
  outcome: string
  /** How the connection ended, when the server ended it. */
  ended?: 'fin' | 'reset'
  statuses: number[]
  ms: number
  failures: string[]
  /** Job ids from 202 answers. */
  accepted: string[]
}

/** Replaces the JOB stand-ins with real ids. */
export function resolveJobs(text: string, jobs: SendContext['jobs']): string {
  return text.replaceAll(JOB.completed, jobs.completed).replaceAll(JOB.failed, jobs.failed).replaceAll(JOB.latest, jobs.latest())
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)

/** What is wrong with one answer; also collects the id of an accepted job. */
export function judge(a: Answer, head: boolean, accepted: string[]): { failures: string[]; code?: string } {
  const failures: string[] = []
  let json: Record<string, unknown> | undefined
  try {
    const parsed: unknown = JSON.parse(a.body.toString('utf8'))
    if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, unknown>
  } catch {
    // not JSON
  }
  const code = typeof json?.code === 'string' ? json.code : undefined
  if (a.status >= 500) failures.push(`5xx: ${a.status}${code !== undefined ? ` ${code}` : ''}`)
  if (a.status >= 400) {
    const type = first(a.headers['content-type']) ?? ''
    if (!type.startsWith('application/problem+json')) failures.push(`${a.status} is not application/problem+json (content-type "${type}", body ${JSON.stringify(a.body.toString('utf8').slice(0, 200))})`)
    else if (!head && code === undefined) failures.push(`${a.status} problem without a code`)
  }
  if (a.status === 202) {
    if (typeof json?.id === 'string') accepted.push(json.id)
    else failures.push('202 without a job id')
    if (first(a.headers.location) === undefined) failures.push('202 without Location')
  }
  return code !== undefined ? { failures, code } : { failures }
}

/** Headers whose value the gateway may send back: only after validating it (DESIGN.md, untrusted text). */
const ECHOED = ['x-request-id', 'x-inference-id']
/** Clearly not validated: bytes outside printable ASCII, or longer than any id. */
const raw = (v: string) => /[^\x20-\x7e]/.test(v) || v.length > 1024

/** Client header values that came back as they were, though no validation would have let them through. */
function echoes(sent: Array<[string, string]>, got: Record<string, string | string[] | undefined>): string[] {
  return sent
    .filter(([n, v]) => ECHOED.includes(n.toLowerCase()) && raw(v) && [got[n.toLowerCase()]].flat().includes(v))
    .map(([n, v]) => `echoed an unvalidated ${n} (${v.length} chars: ${JSON.stringify(v.slice(0, 40))})`)
}

const classOf = (status: number, code: string | undefined) => (code !== undefined ? `${status} ${code}` : String(status))

function sendHttp(c: HttpCase, sc: SendContext): Promise<Outcome> {
  const started = Date.now()
  const headers = [...sc.authHeaders, ...c.headers].map(([n, v]): [string, string] => [n, resolveJobs(v, sc.jobs)])
  if (!headers.some(([n]) => n.toLowerCase() === 'host')) headers.push(['Host', `${sc.host}:${sc.port}`])
  const body = c.body === undefined ? undefined : Buffer.from(c.body, 'latin1')
  if (body !== undefined) headers.push(c.chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(body.length)])
  const out = (o: Partial<Outcome> & { outcome: string }): Outcome => ({ family: c.family, statuses: [], failures: [], accepted: [], ms: Date.now() - started, ...o })
  return new Promise((resolve) => {
    let req: ClientRequest
    try {
      req = request({ host: sc.host, port: sc.port, method: c.method, path: resolveJobs(c.path, sc.jobs), headers: headers.flat(), agent: false, setHost: false })
    } catch (err) {
      // node:http refused to send it: a generator that strayed into framing.ts's territory.
      return resolve(out({ outcome: `unsendable (${(err as NodeJS.ErrnoException).code ?? 'error'})` }))
    }
    let settled = false
    let sentWhole = false
    const done = (o: Outcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
      resolve(o)
    }
    const timer = setTimeout(() => done(out({ outcome: 'hang', failures: [`hang: no answer and no close within ${sc.budgetMs} ms`] })), sc.budgetMs)
    let onAnswerError: (() => void) | undefined
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (d: Buffer) => {
        size += d.length
        if (size <= 4 * 1024 * 1024) chunks.push(d)
      })
      const finish = () => {
        const accepted: string[] = []
        const status = res.statusCode ?? 0
        const verdict = judge({ status, headers: res.headers, body: Buffer.concat(chunks) }, c.method === 'HEAD', accepted)
        const failures = [...verdict.failures, ...echoes(c.headers, res.headers)]
        done(out({ outcome: classOf(status, verdict.code), statuses: [status], failures, accepted }))
      }
      res.on('end', finish)
      // An answer cut short (a stream that failed midway ends without its last chunk): still an answer.
      res.on('error', finish)
      res.on('aborted', finish)
      onAnswerError = finish
    })
    req.on('finish', () => (sentWhole = true))
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Bytes after an answer that the client's parser refuses (raw cases check those) end it here.
      if (onAnswerError !== undefined) return onAnswerError()
      const reset = err.code === 'ECONNRESET' || err.code === 'EPIPE'
      // A request refused while it was still being sent may lose its answer with the connection.
      const failures = sentWhole ? [`no answer: the connection ${reset ? 'was reset' : 'closed'} (${err.code ?? err.message})`] : []
      done(out({ outcome: reset ? 'reset' : 'closed', ended: reset ? 'reset' : 'fin', failures }))
    })
    if (body === undefined) req.end()
    else if (c.chunked) {
      req.write(body.subarray(0, body.length >> 1))
      req.end(body.subarray(body.length >> 1))
    } else req.end(body)
  })
}

/** Header lines for the auth headers, after the request line (raw cases that have one). */
function withAuth(segments: string[], auth: Array<[string, string]>): string[] {
  if (auth.length === 0) return segments
  const lines = auth.map(([n, v]) => `${n}: ${v}\r\n`).join('')
  const i = segments.findIndex((s) => s.includes('\n'))
  if (i < 0) return segments
  const s = segments[i]!
  const at = s.indexOf('\n') + 1
  return [...segments.slice(0, i), s.slice(0, at) + lines + s.slice(at), ...segments.slice(i + 1)]
}

async function sendRawCase(c: RawCase, sc: SendContext): Promise<Outcome> {
  const segments = withAuth(c.segments, sc.authHeaders).map((s) => Buffer.from(resolveJobs(s, sc.jobs), 'latin1'))
  const a = await sendRaw({ host: sc.host, port: sc.port, segments, end: c.end, heads: c.heads, deadlineMs: sc.budgetMs })
  const failures: string[] = []
  const accepted: string[] = []
  let outcome = a.ended === 'reset' ? 'reset' : a.ended === 'client-reset' ? 'reset by the client' : 'closed'
  a.responses.forEach((r, i) => {
    const verdict = judge(r, c.heads[i] ?? false, accepted)
    failures.push(...verdict.failures)
    if (i === 0) outcome = classOf(r.status, verdict.code)
  })
  // Open at the deadline: a hang if nothing came back, or if the client had ended its side.
  if (a.ended === 'open' && a.responses.length === 0) failures.push(`hang: no answer and no close within ${sc.budgetMs} ms`)
  else if (a.ended === 'open' && a.finSent) failures.push(`linger: the connection stayed open ${sc.budgetMs} ms after the client ended its side`)
  if (a.ended === 'open' && a.responses.length === 0) outcome = 'hang'
  // What follows an answer on a connection that stays open is another answer (maybe cut short):
  // anything else would be read as the next answer (a desync), such as content after the headers of
  // an answer to HEAD (RFC 9110 §9.3.2). After `Connection: close` nothing more can be misread.
  const last = a.responses.at(-1)
  const closing = last !== undefined && /\bclose\b/i.test(last.headers.connection ?? '')
  if (a.ended !== 'open' && a.trailingBytes > 0 && !a.trailing.startsWith('HTTP/') && !closing) {
    failures.push(`${a.trailingBytes} bytes that are not an answer after answers ${a.responses.map((r) => r.status).join(', ') || 'none'}: ${JSON.stringify(a.trailing)}`)
  }
  const ended = a.ended === 'fin' || a.ended === 'reset' ? { ended: a.ended } : {}
  return { family: c.family, outcome, ...ended, statuses: a.responses.map((r) => r.status), ms: a.ms, failures, accepted }
}

export function sendCase(c: FuzzCase, sc: SendContext): Promise<Outcome> {
  return c.via === 'http' ? sendHttp(c, sc) : sendRawCase(c, sc)
}
