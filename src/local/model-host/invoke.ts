// One invocation through a loaded model: spool the body, run inputFn → predictFn → outputFn, answer.
// Shared by `POST /invocations` and the multi-model `POST /models/{name}/invoke`.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import {
  type AnyHandlerOutput,
  type HandlerOutput,
  type InvocationContext,
  isHandlerError,
  isStreamedOutput,
  parseCustomAttributes,
} from '../../../handlers/handler.js'
import { sendJson } from './http-response.js'
import type { LoadedModel } from './loaded-model.js'
import { untilAborted } from './signals.js'
import { type SpooledBody, spoolRequestBody } from './spooled-body.js'
import { sendStreamedOutput } from './streamed-output.js'

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

async function runHandler(
  model: LoadedModel,
  body: SpooledBody,
  contentType: string,
  ctx: InvocationContext,
): Promise<AnyHandlerOutput> {
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
 * Handles `POST /invocations` (or `/models/{name}/invoke`) for one model. A whole answer carries a
 * Content-Length; a streamed one is chunked (streamed-output.ts). Errors: HandlerError → its status
 * and `{"error"}` (async inference stores that body as the failure object); over the timeout → 504;
 * anything else → 500 with the detail only in the log; once a streamed answer has started, any
 * failure (also the timeout) cuts the connection instead. A client that goes away aborts
 * `ctx.signal`. The temp file is removed whatever happens.
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
      env: model.env,
    }
    const work = runHandler(model, body, contentType, ctx)
    // If the handler ignores the abort it keeps running; its late outcome must not go unhandled.
    work.catch((err: unknown) => {
      if (signal.aborted) logger.debug({ err }, 'abandoned invocation settled')
    })
    const output = await untilAborted(work, signal)
    if (isStreamedOutput(output)) await sendStreamedOutput(response, output, signal, logger)
    else sendOutput(response, output)
  } catch (err) {
    if (response.headersSent && !response.writableFinished) {
      // A streamed answer broke after its first chunk. The status is already out, so the only honest
      // signal left is to cut the connection without the terminating chunk (RFC 9112 §7.1: the body
      // is then incomplete); the runtime reports that as a ModelStreamError.
      if (!signal.aborted) controller.abort(err)
      response.destroy()
    }
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
