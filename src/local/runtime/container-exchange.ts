import type { IncomingHttpHeaders } from 'node:http'
import { networkErrorCode, postInvocations, readBoundedBody, readHead, ResponseTooLargeError, type ContainerInvocation } from './container-client.js'
import { callerGone, modelError, originalMessages, RuntimeError, type ModelErrorScope } from './errors.js'

/** InvokeEndpoint's response payload limit (6 MiB, sagemaker-notes). */
export const INVOKE_RESPONSE_MAX_BYTES = 6 * 1024 * 1024
/** Error bodies become OriginalMessage; more than this is not a message anyone reads. */
const ERROR_BODY_MAX_BYTES = 64 * 1024
export const DEFAULT_CONTAINER_TIMEOUT_MS = 60_000

export interface ContainerAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

export type ExchangeCall = Omit<ContainerInvocation, 'signal'>

export interface ExchangeOptions {
  scope: ModelErrorScope
  /** The container must have answered completely within this (real time). */
  timeoutMs: number
  /** The caller went away: stop talking to the container. */
  signal: AbortSignal
}

const TIMEOUT = Symbol('container timeout')

/**
 * One buffered invocation: the whole answer (≤ 6 MiB, chunked or not) within `timeoutMs`. Any
 * status comes back as an answer (the caller maps non-2xx, or retries a multi-model 404); failures to
 * get one are ModelErrors — OriginalStatusCode 0 for the timeout as the real service reports it, and
 * never a 5xx of our own, which the SDKs would retry (running the model three times).
 */
export async function exchange(call: ExchangeCall, o: ExchangeOptions): Promise<ContainerAnswer> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(TIMEOUT), o.timeoutMs)
  const onCallerGone = (): void => controller.abort(o.signal.reason)
  o.signal.addEventListener('abort', onCallerGone, { once: true })
  let responded = false
  try {
    const res = await postInvocations({ ...call, signal: controller.signal })
    responded = true
    const status = res.statusCode ?? 0
    const ok = status >= 200 && status <= 299
    const body = ok ? await readBoundedBody(res, INVOKE_RESPONSE_MAX_BYTES) : await readHead(res, ERROR_BODY_MAX_BYTES)
    return { status, headers: res.headers, body }
  } catch (err) {
    if (err instanceof RuntimeError) throw err
    if (controller.signal.reason === TIMEOUT) throw modelError(o.scope, 0, originalMessages.timeout)
    if (o.signal.aborted) throw callerGone()
    if (err instanceof ResponseTooLargeError) {
      throw modelError(o.scope, originalMessages.noResponseStatus, originalMessages.responseTooLarge(err.maxBytes))
    }
    if (responded) throw modelError(o.scope, originalMessages.noResponseStatus, originalMessages.brokenResponse)
    throw modelError(o.scope, originalMessages.noResponseStatus, originalMessages.unreachable(describeNetworkError(err)))
  } finally {
    clearTimeout(timer)
    o.signal.removeEventListener('abort', onCallerGone)
  }
}

/** A container's non-2xx answer → ModelError with its status and body (sagemaker-notes). */
export function answerToModelError(scope: ModelErrorScope, answer: ContainerAnswer): RuntimeError {
  return modelError(scope, answer.status, answer.body.toString('utf8'))
}

export function describeNetworkError(err: unknown): string {
  return networkErrorCode(err) ?? (err instanceof Error ? err.message : String(err))
}
