import type { RealtimeModelConfig } from '../config.js'
import { ModelNotReadyError } from '../clients/sagemaker-inference-runtime.js'
import type { RealtimeInvocation, RealtimeResult, RealtimeRuntime, StreamingResult, UnbufferedResult } from '../clients/inference-runtime.js'
import { AppError, errors } from '../errors.js'
import { checkCustomAttributes } from '../lib/custom-attributes.js'
import { isAcceptedType, parseMediaType } from '../lib/media-type.js'
import { sleep as delay } from '../lib/sleep.js'
import type { ModelRegistry, NamedModel } from './model-registry.js'

export type RealtimeModel = NamedModel & RealtimeModelConfig

export interface PredictInput {
  model: RealtimeModel
  body: Buffer
  contentType: string | undefined
  accept: string | undefined
  customAttributes: string | undefined
  inferenceId: string | undefined
  signal: AbortSignal
  /** The models the caller may use (the 413 hint names only those). */
  mayUse: (name: string) => boolean
}

export interface PredictServiceDeps {
  runtime: RealtimeRuntime
  models: ModelRegistry
  /** Injected for tests: waits between ModelNotReady retries. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  clock?: () => number
  random?: () => number
}

const BACKOFF_BASE_MS = 250
const BACKOFF_CAP_MS = 4000

/** Header values the gateway forwards, checked against SageMaker's limits before anything is sent. */
function checkHeaders(input: PredictInput): void {
  for (const [name, value] of [
    ['Content-Type', input.contentType],
    ['Accept', input.accept],
  ] as const) {
    if (value !== undefined && (value.length > 1024 || !/^[\x20-\x7e]*$/.test(value))) throw errors.badRequest(`${name} is too long or not ASCII.`)
  }
  if (input.customAttributes !== undefined) {
    const problem = checkCustomAttributes(input.customAttributes)
    if (problem !== undefined) throw errors.invalidCustomAttributes(problem)
  }
  // InferenceId: 1–64 printable characters, the first not blank.
  if (input.inferenceId !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(input.inferenceId)) {
    throw errors.badRequest('X-Inference-Id must be 1–64 printable ASCII characters.')
  }
}

export function createPredictService(deps: PredictServiceDeps) {
  const sleep = deps.sleep ?? delay
  const now = deps.clock ?? Date.now
  const random = deps.random ?? Math.random

  async function realtimeModel(name: string): Promise<RealtimeModel> {
    const model = await deps.models.get(name)
    if (model.mode !== 'realtime') throw errors.wrongMode(name, model.mode)
    return model
  }

  /**
   * 413 for an input over the model's limit, naming the jobs route of an async model (one the caller
   * may use) that accepts the input's type, if there is one.
   */
  async function tooLarge(model: RealtimeModel, contentType: string | undefined, mayUse: (name: string) => boolean): Promise<AppError> {
    const essence = parseMediaType(contentType)?.essence
    const candidates = (await deps.models.list().catch(() => [])).filter((m) => m.mode === 'async' && mayUse(m.name))
    const fit = essence === undefined ? undefined : candidates.find((m) => isAcceptedType(essence, m.contentTypes))
    return errors.payloadTooLarge(
      model.maxBytes,
      fit !== undefined ? `Send larger inputs as an async job: POST /models/${fit.name}/jobs.` : 'No async model for larger inputs of this type is available.',
    )
  }

  function request(input: PredictInput): RealtimeInvocation {
    const { model } = input
    // A model that takes anything (`*/*`) takes a body without a type too.
    if (model.contentTypes !== undefined && !model.contentTypes.includes('*/*')) {
      const media = parseMediaType(input.contentType)
      if (media === undefined || !isAcceptedType(media.essence, model.contentTypes)) throw errors.unsupportedMediaType(input.contentType, model.contentTypes)
    }
    checkHeaders(input)
    return {
      endpointName: model.endpointName,
      body: input.body,
      ...(input.contentType !== undefined ? { contentType: input.contentType } : {}),
      ...(input.accept !== undefined ? { accept: input.accept } : {}),
      ...(input.customAttributes !== undefined ? { customAttributes: input.customAttributes } : {}),
      ...(model.targetModel !== undefined ? { targetModel: model.targetModel } : {}),
      ...(input.inferenceId !== undefined ? { inferenceId: input.inferenceId } : {}),
    }
  }

  /**
   * Calls the model; a cold multi-model load (ModelNotReady) is retried with full-jitter exponential
   * backoff until the model's coldStartWaitMs runs out, then answered 503 with Retry-After.
   */
  async function withColdStartRetries<T>(model: RealtimeModel, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    const giveUpAt = now() + model.coldStartWaitMs
    for (let attempt = 0; ; attempt++) {
      try {
        return await call()
      } catch (err) {
        if (!(err instanceof ModelNotReadyError)) throw err
        const delay = Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt))
        if (now() + delay >= giveUpAt) throw err
        await sleep(delay, signal)
      }
    }
  }

  /** The answer: read whole, or (a large one) with its body still arriving, for the caller to forward. */
  async function predict(input: PredictInput): Promise<RealtimeResult | UnbufferedResult> {
    if (input.body.length > input.model.maxBytes) throw await tooLarge(input.model, input.contentType, input.mayUse)
    const req = request(input)
    const options = { signal: input.signal, timeoutMs: input.model.timeoutMs, unbuffered: true }
    return withColdStartRetries(input.model, input.signal, () => deps.runtime.invoke(req, options))
  }

  async function predictStream(input: PredictInput): Promise<StreamingResult> {
    if (!input.model.streaming) {
      throw new AppError('streaming_not_supported', 400, `Model "${input.model.name}" does not stream; call it without ?stream=true.`)
    }
    if (input.body.length > input.model.maxBytes) throw await tooLarge(input.model, input.contentType, input.mayUse)
    const req = request(input)
    return withColdStartRetries(input.model, input.signal, () =>
      deps.runtime.invokeStream(req, { signal: input.signal, timeoutMs: input.model.timeoutMs }),
    )
  }

  return { realtimeModel, tooLarge, predict, predictStream }
}

export type PredictService = ReturnType<typeof createPredictService>
