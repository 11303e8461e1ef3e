import {
  InvokeEndpointAsyncCommand,
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  type SageMakerRuntimeClient,
} from '@aws-sdk/client-sagemaker-runtime'
import type { DeserializeMiddleware } from '@smithy/types'
import { Readable } from 'node:stream'
import { AppError, errors } from '../errors.js'
import { sleep } from '../lib/sleep.js'
import { clipText } from '../lib/untrusted-text.js'
import { isNetworkFailure } from './aws-errors.js'
import type {
  AsyncInvocation,
  AsyncInvocationResult,
  InferenceRuntime,
  InvokeOptions,
  RealtimeInvocation,
  RealtimeResult,
  StreamingResult,
  UnbufferedResult,
} from './inference-runtime.js'

export interface SageMakerInferenceRuntimeOptions {
  /** Real-time calls: the SDK retries them as configured. */
  client: SageMakerRuntimeClient
  /**
   * InvokeEndpointAsync: a client that does not retry by itself (maxAttempts 1); invokeAsync retries
   * only what certainly did not start a job. Default: `client`, with its own retries.
   */
  asyncClient?: SageMakerRuntimeClient
  /** With asyncClient: attempts of InvokeEndpointAsync, the first included. Default 3. */
  asyncMaxAttempts?: number
  /** The runtime's base URL, for the reachability probe (the API has no health operation). */
  endpointUrl: string
  /**
   * A real-time call ended in ModelNotReadyException (a multi-model cold load), after the SDK's own
   * attempts (it is a 429, which the SDK retries as throttling). The predict service calls again
   * (services/predict-service.ts) until the model's coldStartWaitMs runs out.
   */
  onModelNotReady?: (endpoint: string) => void
}

interface SdkError {
  name?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  code?: string
  OriginalStatusCode?: number
  OriginalMessage?: string
  ErrorCode?: string
}

/** The model's cold load (multi-model endpoints) is still going on: the caller may retry. */
export class ModelNotReadyError extends AppError {
  constructor(cause: unknown) {
    super('model_not_ready', 503, 'The model is still loading; retry later.', { headers: { 'retry-after': '2' }, cause })
  }
}

const clip = (s: string | undefined) => (s === undefined ? undefined : clipText(s))

/**
 * Real-time errors → gateway errors (issue #3): the model rejected the input (ModelError with a 4xx
 * original status) → 422 with its status and message; the model failed (5xx) → 502 with its status
 * (its message may hold internals, so it is logged, not sent); the model timed out (original status
 * 0) → 504; a cold load → ModelNotReadyError (retried by the caller); a target that does not exist →
 * 404; other validation errors → 400; throttling and unavailability → 503.
 */
export function translateInvokeError(err: unknown): Error {
  const e = err as SdkError
  switch (e.name) {
    case 'ModelError': {
      const status = e.OriginalStatusCode ?? 0
      if (status === 0) return new AppError('model_timeout', 504, 'The model did not answer in time.', { cause: err })
      if (status >= 400 && status < 500) {
        const modelMessage = clip(e.OriginalMessage ?? e.message)
        // The reference models say so when a text is in a language they do not read (handlers/sentiment).
        const language = /\bunsupported_language:/.test(modelMessage ?? '')
        return new AppError(
          language ? 'unsupported_language' : 'model_rejected_input',
          422,
          language ? 'The model does not read the language of this input.' : 'The model rejected the input.',
          { details: { modelStatus: status, modelMessage }, cause: err },
        )
      }
      return new AppError('model_error', 502, 'The model failed.', { details: { modelStatus: status }, cause: err })
    }
    case 'ModelStreamError':
      return new AppError('model_error', 502, 'The model failed while streaming.', { details: { modelErrorCode: e.ErrorCode }, cause: err })
    case 'ModelNotReadyException':
      return new ModelNotReadyError(err)
    case 'ValidationError': {
      const message = e.message ?? ''
      // A multi-model target that has no artifact (sagemaker-notes: "Failed to download model data").
      if (/failed to download model data|could not find model data/i.test(message)) {
        return new AppError('target_model_not_found', 404, 'The model artifact does not exist.', { cause: err })
      }
      // Our own configuration names an endpoint that is not there: not the client's fault.
      if (/^Endpoint .* not found\.?$/.test(message)) return translateRuntimeError(err)
      return new AppError('invalid_request', 400, clip(message) ?? 'SageMaker rejected the request.', { cause: err })
    }
    default:
      if (e.name === 'TimeoutError' && !isNetworkFailure(err)) return new AppError('model_timeout', 504, 'The model did not answer in time.', { cause: err })
      return translateRuntimeError(err)
  }
}

/**
 * SageMaker errors → gateway errors (DESIGN.md "Errors"). Throttling, ServiceUnavailable and an
 * unreachable runtime are the caller's to retry (503 + Retry-After), as is a runtime that did not
 * answer within the attempt deadline (504 + Retry-After); anything else, including a
 * ValidationError (our configuration or request is wrong, not the client's), is a 502 whose detail is
 * logged, never shown.
 */
export function translateRuntimeError(err: unknown): Error {
  const e = err as SdkError
  if (e.name === 'AbortError') return err as Error
  const unreachable = isNetworkFailure(err)
  // Every attempt ran into its deadline (aws.ts attemptTimeoutMs): 504, worth a retry later.
  if (!unreachable && (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT')) return errors.upstreamTimeout('The inference service', 5, err)
  const status = e.$metadata?.httpStatusCode
  if (
    e.name === 'ServiceUnavailable' ||
    e.name === 'ThrottlingException' ||
    e.name === 'InternalDependencyException' ||
    status === 429 ||
    status === 503 ||
    status === 530 ||
    unreachable
  ) {
    return errors.upstreamUnavailable('The inference service', 5, err)
  }
  return new AppError('upstream_error', 502, 'The inference service rejected or failed the request.', {
    details: { upstreamError: e.name ?? 'Error' },
    cause: err,
  })
}

/**
 * InvokeEndpointAsync starts a paid job, so it is retried only when it certainly did not: the
 * connection was refused, or the service answered that it throttles or is unavailable. A call that
 * timed out or lost its connection may have been queued; retrying it would run the model twice,
 * whereas answering 504 lets the gateway remove the input, and a job queued anyway then fails fast.
 */
const startedNoJob = (err: unknown): boolean => {
  const e = err as SdkError
  const status = e.$metadata?.httpStatusCode
  return e.code === 'ECONNREFUSED' || status === 429 || status === 503 || e.name === 'ThrottlingException' || e.name === 'ServiceUnavailable'
}

export function createSageMakerInferenceRuntime(options: SageMakerInferenceRuntimeOptions): InferenceRuntime {
  const { client } = options
  const asyncClient = options.asyncClient ?? client
  const asyncMaxAttempts = options.asyncClient === undefined ? 1 : (options.asyncMaxAttempts ?? 3)
  /** translateInvokeError, telling onModelNotReady about a cold load. */
  const invokeError = (req: RealtimeInvocation, err: unknown): Error => {
    const translated = translateInvokeError(err)
    if (translated instanceof ModelNotReadyError) options.onModelNotReady?.(req.endpointName)
    return translated
  }

  async function invokeAsyncOnce(req: AsyncInvocation, signal?: AbortSignal): Promise<AsyncInvocationResult> {
    const out = await asyncClient.send(
      new InvokeEndpointAsyncCommand({
        EndpointName: req.endpointName,
        InputLocation: req.inputLocation,
        ContentType: req.contentType,
        Accept: req.accept,
        CustomAttributes: req.customAttributes,
        InferenceId: req.inferenceId,
        RequestTTLSeconds: req.ttlSeconds,
        InvocationTimeoutSeconds: req.invocationTimeoutSeconds,
      }),
      { abortSignal: signal },
    )
    if (out.OutputLocation === undefined) throw new Error('InvokeEndpointAsync returned no OutputLocation')
    return {
      inferenceId: out.InferenceId ?? req.inferenceId,
      outputLocation: out.OutputLocation,
      ...(out.FailureLocation !== undefined ? { failureLocation: out.FailureLocation } : {}),
    }
  }

  return {
    async invokeAsync(req: AsyncInvocation, signal?: AbortSignal): Promise<AsyncInvocationResult> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await invokeAsyncOnce(req, signal)
        } catch (err) {
          if (attempt >= asyncMaxAttempts || !startedNoJob(err) || signal?.aborted === true) throw translateRuntimeError(err)
          // Full jitter, as the SDK's standard retry mode: up to 100 ms, 200 ms, ...
          await sleep(Math.random() * 100 * 2 ** (attempt - 1), signal).catch(() => undefined)
        }
      }
    },

    async invoke(req: RealtimeInvocation, opts: InvokeOptions): Promise<RealtimeResult | UnbufferedResult> {
      const { signal, timedOut, end } = deadline(opts)
      const command = new InvokeEndpointCommand(invokeInput(req))
      const unread = opts.unbuffered === true ? takeLargeBody(command.middlewareStack) : undefined
      try {
        // The model's own time budget is the signal (deadline below): this client has no attempt
        // deadline, and a per-call requestTimeout would only log a warning (no throwOnRequestTimeout).
        const out = await client.send(command, { abortSignal: signal })
        const answer = meta(out.ContentType, out.InvokedProductionVariant, out.CustomAttributes)
        const taken = unread?.()
        if (taken !== undefined) {
          // The deadline (and the caller's signal) still end the call while the body arrives.
          taken.stream.once('close', end)
          return { ...taken, ...answer }
        }
        end()
        return { body: out.Body ?? new Uint8Array(), ...answer }
      } catch (err) {
        end()
        unread?.()?.stream.destroy()
        if (timedOut()) throw new AppError('model_timeout', 504, 'The model did not answer in time.', { cause: err })
        throw invokeError(req, err)
      }
    },

    async invokeStream(req: RealtimeInvocation, opts: InvokeOptions): Promise<StreamingResult> {
      const { signal, timedOut, end } = deadline(opts)
      try {
        // The response stream API takes no TargetModel; Accept travels as X-Amzn-SageMaker-Accept.
        const { TargetModel: _unused, ...input } = invokeInput(req)
        const out = await client.send(new InvokeEndpointWithResponseStreamCommand(input), { abortSignal: signal })
        const events = out.Body
        async function* chunks(): AsyncGenerator<Uint8Array> {
          try {
            for await (const event of events ?? []) {
              if (event.PayloadPart?.Bytes !== undefined) yield event.PayloadPart.Bytes
              else if (event.ModelStreamError !== undefined) throw translateInvokeError({ ...event.ModelStreamError, name: 'ModelStreamError' })
              else if (event.InternalStreamFailure !== undefined) throw errors.upstreamFailed('The inference service', event.InternalStreamFailure)
            }
          } catch (err) {
            throw timedOut() ? new AppError('model_timeout', 504, 'The model did not answer in time.', { cause: err }) : translateInvokeError(err)
          } finally {
            end()
          }
        }
        return { chunks: chunks(), ...meta(out.ContentType, out.InvokedProductionVariant, out.CustomAttributes) }
      } catch (err) {
        end()
        if (timedOut()) throw new AppError('model_timeout', 504, 'The model did not answer in time.', { cause: err })
        throw invokeError(req, err)
      }
    },

    async ping(signal?: AbortSignal) {
      // Any HTTP answer means the runtime is reachable; only a network failure is "not ready".
      const res = await fetch(new URL('/ping', options.endpointUrl), { signal: signal ?? AbortSignal.timeout(2000) })
      await res.body?.cancel()
    },
  }
}

/**
 * Answers up to this size are read whole by the SDK (a stream's overhead is not worth it); larger
 * ones, and answers of unknown length, are handed over unread.
 */
export const UNBUFFERED_MIN_BYTES = 64 * 1024

/**
 * Adds a middleware below the SDK's deserializer that takes the body of a successful (2xx) answer of
 * over UNBUFFERED_MIN_BYTES (or of unknown length) before the SDK reads it into one buffer, leaving the
 * deserializer an empty body. Error answers are left to the SDK. The returned function gives what
 * was taken, if anything.
 */
function takeLargeBody(stack: { add(middleware: DeserializeMiddleware<any, any>, options: { step: 'deserialize'; priority: 'low'; name: string }): void }) {
  let taken: { stream: Readable; contentLength?: number } | undefined
  const take: DeserializeMiddleware<any, any> = (next) => async (args) => {
    const out = await next(args)
    const response = out.response as { statusCode: number; headers: Record<string, string | undefined>; body: unknown }
    if (response.statusCode >= 200 && response.statusCode < 300 && response.body instanceof Readable) {
      const length = Number(response.headers['content-length'] ?? Number.NaN)
      const known = Number.isSafeInteger(length) && length >= 0
      if (!known || length > UNBUFFERED_MIN_BYTES) {
        taken = { stream: response.body, ...(known ? { contentLength: length } : {}) }
        response.body = new Uint8Array()
      }
    }
    return out
  }
  stack.add(take, { step: 'deserialize', priority: 'low', name: 'sagegateUnbufferedBody' })
  return () => taken
}

function invokeInput(req: RealtimeInvocation) {
  return {
    EndpointName: req.endpointName,
    Body: req.body,
    ContentType: req.contentType,
    Accept: req.accept,
    CustomAttributes: req.customAttributes,
    TargetModel: req.targetModel,
    InferenceId: req.inferenceId,
  }
}

function meta(contentType?: string, invokedVariant?: string, customAttributes?: string) {
  return {
    ...(contentType !== undefined ? { contentType } : {}),
    ...(invokedVariant !== undefined ? { invokedVariant } : {}),
    ...(customAttributes !== undefined ? { customAttributes } : {}),
  }
}

/**
 * The caller's signal combined with the model's time budget (one timer, unref'd); says afterwards
 * whether the budget ran out. `end` clears the timer and stops following the caller's signal.
 */
function deadline(opts: InvokeOptions): { signal: AbortSignal; timedOut: () => boolean; end: () => void } {
  const controller = new AbortController()
  let expired = false
  const timer = setTimeout(() => {
    expired = true
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
  }, opts.timeoutMs)
  timer.unref()
  const caller = opts.signal
  const follow = () => controller.abort(caller?.reason)
  if (caller?.aborted === true) follow()
  else caller?.addEventListener('abort', follow, { once: true })
  const end = () => {
    clearTimeout(timer)
    caller?.removeEventListener('abort', follow)
  }
  return { signal: controller.signal, timedOut: () => expired, end }
}
