import type { IncomingMessage, ServerResponse } from 'node:http'
import { once } from 'node:events'
import { postInvocations, readHead } from './container-client.js'
import { describeNetworkError } from './container-exchange.js'
import { callerGone, modelError, originalMessages, type RuntimeError } from './errors.js'
import { EVENT_STREAM_CONTENT_TYPE, modelStreamErrorMessage, payloadPartMessage, type ModelStreamErrorCode } from './event-stream.js'
import { containerCall, INVOKED_PRODUCTION_VARIANT, type RealtimeInput } from './realtime-invoke.js'
import type { RealtimeEndpoint } from './realtime-endpoints.js'
import type { RequestContext } from './router.js'

const ERROR_BODY_MAX_BYTES = 64 * 1024
const TIMEOUT = Symbol('container timeout')
const CALLER_GONE = Symbol('caller gone')

/**
 * InvokeEndpointWithResponseStream: the container's `/invocations` answer is forwarded chunk by chunk
 * as PayloadPart events, as it arrives — never held whole. Before the first byte, failures are the
 * ordinary HTTP errors of InvokeEndpoint (a container error status → 424 ModelError); once the 200 is
 * out, they can only travel in the stream, as a ModelStreamError event (StreamBroken, or
 * ModelInvocationTimeExceeded when the container stays silent longer than containerTimeoutMs — the
 * limit applies to the response head and then to every gap between chunks). Resolves false when the
 * stream ended with an error event.
 */
export async function invokeWithResponseStream(ctx: RequestContext, input: RealtimeInput, rt: RealtimeEndpoint): Promise<boolean> {
  const { res } = ctx
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(CALLER_GONE)
  })
  let timer = setTimeout(() => controller.abort(TIMEOUT), rt.containerTimeoutMs)
  const rearm = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => controller.abort(TIMEOUT), rt.containerTimeoutMs)
  }
  try {
    let upstream: IncomingMessage
    try {
      upstream = await postInvocations({ ...containerCall(input, rt), signal: controller.signal })
    } catch (err) {
      throw beforeStreamError(rt, controller.signal, err)
    }
    const status = upstream.statusCode ?? 0
    if (status < 200 || status > 299) {
      let body: Buffer
      try {
        body = await readHead(upstream, ERROR_BODY_MAX_BYTES)
      } catch (err) {
        throw beforeStreamError(rt, controller.signal, err)
      }
      throw modelError(rt.scope, status, body.toString('utf8'))
    }
    startStream(res, upstream)
    rearm()
    try {
      for await (const chunk of upstream as AsyncIterable<Buffer>) {
        clearTimeout(timer) // the caller's own pace (backpressure) is not the model's silence
        if (!res.write(payloadPartMessage(chunk))) await drained(res)
        rearm()
      }
      if (!upstream.complete) throw new Error('incomplete response')
    } catch (err) {
      if (controller.signal.reason === CALLER_GONE) return true
      const code: ModelStreamErrorCode = controller.signal.reason === TIMEOUT ? 'ModelInvocationTimeExceeded' : 'StreamBroken'
      res.end(modelStreamErrorMessage(streamErrorText(code, rt.containerTimeoutMs), code))
      return false
    }
    res.end()
    return true
  } finally {
    clearTimeout(timer)
  }
}

function startStream(res: ServerResponse, upstream: IncomingMessage): void {
  const headers: Record<string, string> = {
    'Content-Type': EVENT_STREAM_CONTENT_TYPE,
    'x-Amzn-Invoked-Production-Variant': INVOKED_PRODUCTION_VARIANT,
  }
  // The model's media type travels in X-Amzn-SageMaker-Content-Type (sagemaker-notes).
  const type = upstream.headers['content-type']
  if (type !== undefined) headers['X-Amzn-SageMaker-Content-Type'] = type
  const attributes = upstream.headers['x-amzn-sagemaker-custom-attributes']
  if (typeof attributes === 'string') headers['X-Amzn-SageMaker-Custom-Attributes'] = attributes
  res.writeHead(200, headers)
  // The SDK's send() resolves at the first event; the head alone must not wait in a buffer.
  res.flushHeaders()
}

async function drained(res: ServerResponse): Promise<void> {
  const ac = new AbortController()
  try {
    await Promise.race([once(res, 'drain', { signal: ac.signal }), once(res, 'close', { signal: ac.signal })])
  } finally {
    ac.abort()
  }
}

/** Local wording (unconfirmed): the service documents only the error codes. */
function streamErrorText(code: ModelStreamErrorCode, timeoutMs: number): string {
  return code === 'ModelInvocationTimeExceeded'
    ? `Container primary did not send more of its response within ${timeoutMs / 1000} seconds.`
    : 'Container primary closed the connection before its response stream was complete.'
}

function beforeStreamError(rt: RealtimeEndpoint, signal: AbortSignal, err: unknown): RuntimeError {
  if (signal.reason === TIMEOUT) return modelError(rt.scope, 0, originalMessages.timeout)
  if (signal.aborted) return callerGone()
  return modelError(rt.scope, originalMessages.noResponseStatus, originalMessages.unreachable(describeNetworkError(err)))
}
