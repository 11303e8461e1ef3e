/**
 * The load test's HTTP client: node:http(s) with a keep-alive agent, not fetch, whose own per-request
 * work (streams, header objects) would be counted as the gateway's latency.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

export type Agent = HttpAgent

/** Keep-alive connections, at most `maxSockets` (the concurrency: one per worker). */
export function createAgent(url: string, maxSockets: number): Agent {
  const options = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets }
  return url.startsWith('https:') ? new HttpsAgent(options) : new HttpAgent(options)
}

/** The gateway's API key, sent as a bearer token (README: Security). */
export const authHeaders = (apiKey: string | undefined): Record<string, string> => (apiKey !== undefined ? { authorization: `Bearer ${apiKey}` } : {})

export interface Answer {
  /** The HTTP status; 0 when there was none (a network error or the timeout). */
  status: number
  /** From the request's start to the last byte of the answer's body (or the failure). */
  latencyMs: number
  /** The body, when asked for (`keepBody`). */
  body?: Buffer
  headers?: IncomingHttpHeaders
  /** Why there was no status. */
  error?: string
}

export interface SendOptions {
  method: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: Buffer
  keepBody?: boolean
  /** The whole exchange's limit; past it the request is destroyed and counts as status 0. */
  timeoutMs: number
}

/** One request; never rejects, so that a worker's loop counts every failure and goes on. */
export function send(agent: Agent, url: string, o: SendOptions): Promise<Answer> {
  return new Promise((resolve) => {
    const started = performance.now()
    const elapsed = () => performance.now() - started
    let settled = false
    const done = (answer: Omit<Answer, 'latencyMs'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...answer, latencyMs: elapsed() })
    }
    const headers: Record<string, string> = { ...o.headers }
    if (o.body !== undefined) headers['content-length'] = String(o.body.length)
    const request = url.startsWith('https:') ? httpsRequest : httpRequest
    const req = request(url, { method: o.method, agent, headers }, (res) => {
      const chunks: Buffer[] = []
      if (o.keepBody === true) res.on('data', (c: Buffer) => chunks.push(c))
      else res.resume()
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, ...(o.keepBody === true ? { body: Buffer.concat(chunks) } : {}) }))
      // A body cut short (the server reset the connection) is no answer.
      res.on('error', (err) => done({ status: 0, error: err.message }))
      res.on('aborted', () => done({ status: 0, error: 'response aborted' }))
    })
    const timer = setTimeout(() => {
      done({ status: 0, error: `no answer in ${o.timeoutMs} ms` })
      req.destroy()
    }, o.timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => done({ status: 0, error: err.code ?? err.message }))
    req.end(o.body)
  })
}
