// One invocation through a loaded model: spool the body, run inputFn → predictFn → outputFn, answer.
// Shared by `POST /invocations` and, later, the multi-model `POST /models/{name}/invoke`.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import {
  type HandlerOutput,
  type InvocationContext,
  isHandlerError,
  parseCustomAttributes,
} from '../../../handlers/handler.js'
import { sendJson } from './http-response.js'
import type { LoadedModel } from './loaded-model.js'
import { type SpooledBody, spoolRequestBody } from './spooled-body.js'

export interface InvocationOptions {
  tmpDir: string
  maxBodyBytes: number
  invocationTimeoutMs: number
  logger: Logger
}

class InvocationTimeoutError extends Error {
  override readonly name = 'InvocationTimeoutError'
}

class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError'
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

/** Resolves or rejects with `work`, or rejects as soon as `signal` aborts (a handler may ignore it). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

async function runHandler(
  model: LoadedModel,
  body: SpooledBody,
  contentType: string,
  ctx: InvocationContext,
): Promise<HandlerOutput> {
  const { handler } = model
  const input = await handler.inputFn(body, contentType, ctx)
  const prediction = await handler.predictFn(input, model.model, ctx)
  return handler.outputFn(prediction, ctx.accept, ctx)
}

function sendOutput(response: ServerResponse, output: HandlerOutput): void {
  const body = typeof output.body === 'string' ? Buffer.from(output.body, 'utf8') : output.body
  // SageMaker async requires a Content-Length on the container's answer: chunked responses fail.
  response.writeHead(200, { 'Content-Type': output.contentType, 'Content-Length': body.length })
  response.end(body)
}

/**
 * Handles `POST /invocations` for one model. Errors: HandlerError → its status and `{"error"}`
 * (async inference stores that body as the failure object); over the timeout → 504; anything
 * else → 500 with the detail only in the log. A client that goes away aborts `ctx.signal`. The temp
 * file is removed whatever happens.
 */
export async function handleInvocation(
  request: IncomingMessage,
  response: ServerResponse,
  model: LoadedModel,
  options: InvocationOptions,
): Promise<void> {
  const controller = new AbortController()
  const { signal } = controller
  const inferenceId = header(request, 'x-amzn-sagemaker-inference-id')
  const logger = options.logger.child({ model: model.name, ...(inferenceId ? { inferenceId } : {}) })
  response.once('close', () => {
    if (!response.writableFinished) controller.abort(new ClientGoneError('client disconnected'))
  })
  const timer = setTimeout(() => {
    controller.abort(new InvocationTimeoutError(`invocation exceeded ${options.invocationTimeoutMs} ms`))
  }, options.invocationTimeoutMs)
  let body: SpooledBody | undefined
  try {
    if (model.state !== 'ready') {
      // Like a container that is not ready: the runtime in front turns this into a retryable error.
      const reason = model.state === 'loading' ? 'is still loading' : 'failed to load'
      sendJson(response, 503, { error: `model ${model.name} ${reason}` }, { close: true })
      return
    }
    const contentType = header(request, 'content-type') ?? ''
    body = await spoolRequestBody(request, { dir: options.tmpDir, maxBytes: options.maxBodyBytes, contentType, signal })
    const rawCustomAttributes = header(request, 'x-amzn-sagemaker-custom-attributes')
    const targetModel = header(request, 'x-amzn-sagemaker-target-model')
    const ctx: InvocationContext = {
      customAttributes: parseCustomAttributes(rawCustomAttributes),
      ...(rawCustomAttributes !== undefined ? { rawCustomAttributes } : {}),
      ...(inferenceId !== undefined ? { inferenceId } : {}),
      ...(targetModel !== undefined ? { targetModel } : {}),
      accept: header(request, 'accept')?.trim() || '*/*',
      signal,
      logger,
    }
    const work = runHandler(model, body, contentType, ctx)
    // If the handler ignores the abort it keeps running; its late outcome must not go unhandled.
    work.catch((err: unknown) => {
      if (signal.aborted) logger.debug({ err }, 'abandoned invocation settled')
    })
    const output = await untilAborted(work, signal)
    sendOutput(response, output)
  } catch (err) {
    respondWithError(response, err, signal, logger, options.invocationTimeoutMs)
  } finally {
    clearTimeout(timer)
    await body?.dispose()
  }
}

function respondWithError(
  response: ServerResponse,
  err: unknown,
  signal: AbortSignal,
  logger: Logger,
  timeoutMs: number,
): void {
  // Once aborted, the abort is the cause, whatever the handler threw while being torn down.
  const cause: unknown = signal.aborted ? signal.reason : err
  if (cause instanceof ClientGoneError) {
    logger.info('client disconnected; invocation aborted')
    return
  }
  if (response.headersSent || response.destroyed) {
    logger.error({ err }, 'invocation failed after the response started')
    return
  }
  if (cause instanceof InvocationTimeoutError) {
    logger.warn({ timeoutMs }, 'invocation timed out')
    sendJson(response, 504, { error: `the model did not answer within ${timeoutMs} ms` }, { close: true })
  } else if (isHandlerError(cause)) {
    logger.info({ statusCode: cause.statusCode, reason: cause.message }, 'invocation rejected by the handler')
    // The request body may be unread (e.g. 413 refused up front): do not keep the connection.
    sendJson(response, cause.statusCode, { error: cause.message }, { close: !response.req.complete })
  } else {
    logger.error({ err: cause }, 'invocation failed')
    sendJson(response, 500, { error: 'internal error' }, { close: !response.req.complete })
  }
}
