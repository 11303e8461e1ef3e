import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { deadline, isDeadlineExceeded } from '../lib/deadline.js'

/**
 * One webhook POST, over node:http/https, whose requests take a `lookup` directly (the global fetch
 * would need an undici dispatcher of its own): the SSRF policy's (lib/ssrf.ts), which checks every
 * address a hostname resolves to at connection time. Redirects are not followed (node:http never
 * follows them): a 3xx is a failed attempt, so a listed host cannot send the gateway on to an
 * unlisted one.
 */

export type AttemptOutcome = 'delivered' | 'http_error' | 'timeout' | 'network_error' | 'refused'

export interface SendResult {
  outcome: AttemptOutcome
  /** The response status, when one arrived. */
  status?: number
  /** For the document and the log: a status line or an error code, never a response body. */
  error?: string
}

export interface WebhookSender {
  /** Never rejects: every failure is a result. `signal` aborts the attempt (shutdown). */
  send(url: URL, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<SendResult>
  close(): void
}

/** A receiver's answer is read (so the connection can be reused) up to this much, then cut off. */
const MAX_RESPONSE_BYTES = 64 * 1024

export function createWebhookSender(options: { timeoutMs: number; lookup: LookupFunction; maxSockets?: number }): WebhookSender {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16, lookup: options.lookup }
  const httpAgent = new HttpAgent(agentOptions)
  const httpsAgent = new HttpsAgent(agentOptions)

  function send(url: URL, headers: Record<string, string>, body: string, signal?: AbortSignal): Promise<SendResult> {
    // The whole attempt, connection to the end of the response (webhooks.timeoutMs). `signal` lives
    // as long as the service: its listener is removed when the attempt ends, not left behind.
    const d = deadline(options.timeoutMs)
    const payload = Buffer.from(body)
    return new Promise<SendResult>((resolve) => {
      let settled = false
      const onStop = () => req.destroy(new Error('webhook attempt aborted'))
      const finish = (result: SendResult) => {
        if (settled) return
        settled = true
        d.clear()
        signal?.removeEventListener('abort', onStop)
        resolve(result)
      }
      const failed = (err: unknown) => {
        if (isDeadlineExceeded(d.signal.reason)) return finish({ outcome: 'timeout', error: `no answer within ${options.timeoutMs} ms` })
        const e = err as { code?: unknown; name?: string }
        if (e.code === 'EADDRNOTALLOWED') return finish({ outcome: 'refused', error: 'the host resolves to an internal address' })
        finish({ outcome: 'network_error', error: signal?.aborted === true ? 'aborted' : typeof e.code === 'string' ? e.code : (e.name ?? 'Error') })
      }
      const https = url.protocol === 'https:'
      const req = (https ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        agent: https ? httpsAgent : httpAgent,
        lookup: options.lookup,
        headers: { ...headers, 'content-length': String(payload.length) },
        signal: d.signal,
      })
      req.on('error', failed)
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0
        const result: SendResult =
          status >= 200 && status < 300 ? { outcome: 'delivered', status } : { outcome: 'http_error', status, error: `HTTP ${status}` }
        let bytes = 0
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          if (bytes > MAX_RESPONSE_BYTES) {
            res.destroy()
            finish(result)
          }
        })
        res.on('end', () => finish(result))
        // An answer cut short (the deadline, a reset) is a failed attempt, whatever its status.
        res.on('error', failed)
        res.on('close', () => {
          if (!res.complete && bytes <= MAX_RESPONSE_BYTES) failed(res.errored ?? new Error('response cut short'))
        })
      })
      if (signal?.aborted === true) onStop()
      else signal?.addEventListener('abort', onStop, { once: true })
      req.end(payload)
    })
  }

  return {
    send,
    close() {
      httpAgent.destroy()
      httpsAgent.destroy()
    },
  }
}
