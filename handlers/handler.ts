// The contract every handler in handlers/<name>/index.ts implements. It mirrors the SageMaker
// inference toolkit (model_fn, input_fn, predict_fn, output_fn) so that the same code could ship in a
// bring-your-own container: the model host only speaks the container contract around it (/ping and
// /invocations, or the multi-model /models API).
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'

/** The request body, already spooled to a temp file by the host (inputs can be 1 GiB videos). */
export interface InvocationBody {
  readonly path: string
  readonly sizeBytes: number
  readonly contentType: string
  /** Reads the whole body as UTF-8; over maxBytes → HandlerError 413, invalid UTF-8 → 400. */
  text(maxBytes?: number): Promise<string>
  /** Reads the whole body; over maxBytes → HandlerError 413. */
  buffer(maxBytes?: number): Promise<Buffer>
  stream(): Readable
}

/** A container's environment (a SageMaker Model's `Environment`): read-only, strings only. */
export type ContainerEnv = Readonly<Record<string, string>>

export interface InvocationContext {
  /** Parsed from X-Amzn-SageMaker-Custom-Attributes, see parseCustomAttributes. */
  customAttributes: Record<string, string>
  rawCustomAttributes?: string
  inferenceId?: string
  targetModel?: string
  /** The request's Accept header ('*\/*' when the caller sent none). */
  accept: string
  /**
   * Aborted when the client goes away or the invocation times out (also while a streamed answer is
   * being written): pass it to child processes.
   */
  signal: AbortSignal
  logger: Logger
  /**
   * The container's environment, the same object modelFn got. The host always sets it (`{}` when the
   * container has none); optional only so that unit tests may build a context without it.
   */
  env?: ContainerEnv
}

/** A whole answer: the host sends it with a Content-Length (SageMaker async rejects chunked answers). */
export interface HandlerOutput {
  body: Buffer | string
  contentType: string
}

/**
 * An answer produced piece by piece: the host sends it with `Transfer-Encoding: chunked`, writing each
 * chunk as the iterator yields it (for InvokeEndpointWithResponseStream). An error thrown before the
 * first chunk becomes an ordinary error response; after it, the connection is cut without the
 * terminating chunk so the caller can tell the answer is incomplete. Real-time only: async inference
 * needs a Content-Length.
 */
export interface StreamedHandlerOutput {
  stream: AsyncIterable<Buffer | string>
  contentType: string
}

export type AnyHandlerOutput = HandlerOutput | StreamedHandlerOutput

export function isStreamedOutput(output: AnyHandlerOutput): output is StreamedHandlerOutput {
  return 'stream' in output && output.stream !== undefined
}

/**
 * `Output` defaults to a whole answer; a handler that may stream declares
 * `Handler<M, I, P, AnyHandlerOutput>`.
 */
export interface Handler<Model = unknown, Input = unknown, Prediction = unknown, Output extends AnyHandlerOutput = HandlerOutput> {
  /**
   * Loads the model once per container (or once per artifact in a multi-model container). `modelDir`
   * is SageMaker's /opt/ml/model (MME: the artifact's unpacked directory); `env` is the container's
   * environment, always passed by the host (optional here so direct calls in tests may omit it).
   */
  modelFn(modelDir: string | undefined, env?: ContainerEnv): Promise<Model> | Model
  inputFn(body: InvocationBody, contentType: string, ctx: InvocationContext): Promise<Input> | Input
  predictFn(input: Input, model: Model, ctx: InvocationContext): Promise<Prediction> | Prediction
  outputFn(prediction: Prediction, accept: string, ctx: InvocationContext): Promise<Output> | Output
  /**
   * Optional: releases what modelFn holds when a multi-model container unloads the model
   * (`DELETE /models/{name}`), after the invocations still using it have finished.
   */
  unloadFn?(model: Model): Promise<void> | void
}

/**
 * An error the caller should see: the host answers with statusCode and `{"error": message}`. In async
 * inference that body becomes the failure object in S3, so the message must say what was wrong.
 */
export class HandlerError extends Error {
  override readonly name = 'HandlerError'

  constructor(
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/**
 * True for a HandlerError, also one thrown by another copy of this module (a handler loaded from a
 * different folder, e.g. an unpacked model artifact), which `instanceof` would miss.
 */
export function isHandlerError(err: unknown): err is HandlerError {
  if (err instanceof HandlerError) return true
  if (!(err instanceof Error) || err.name !== 'HandlerError') return false
  const status = (err as { statusCode?: unknown }).statusCode
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599
}

/**
 * Parses X-Amzn-SageMaker-Custom-Attributes: `k=v` pairs separated by `;` or `,`, whitespace
 * trimmed. SageMaker passes the header through opaquely, so this is our own convention; an entry
 * without `=` becomes a key with an empty value (so a handler can reject it instead of silently
 * ignoring a typo).
 */
export function parseCustomAttributes(header: string | undefined): Record<string, string> {
  const attributes: Record<string, string> = {}
  if (header === undefined) return attributes
  for (const entry of header.split(/[;,]/)) {
    const eq = entry.indexOf('=')
    const key = (eq === -1 ? entry : entry.slice(0, eq)).trim()
    if (key === '') continue
    attributes[key] = eq === -1 ? '' : entry.slice(eq + 1).trim()
  }
  return attributes
}

/** The bare media type of a Content-Type or Accept entry: lower-cased, parameters dropped. */
export function mediaType(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase()
}

/**
 * Picks the response type from an Accept header. As in the SageMaker inference toolkit, an empty
 * Accept or `*\/*` falls back to the handler's default; `type/*` matches within the type; anything
 * the handler cannot produce is 406 (RFC 9110 §15.5.7).
 */
export function negotiateAccept(accept: string, produces: readonly string[], fallback: string): string {
  const ranges = accept
    .split(',')
    .map((entry) => mediaType(entry))
    .filter((entry) => entry !== '')
  if (ranges.length === 0) return fallback
  for (const range of ranges) {
    if (range === '*/*') return fallback
    if (range.endsWith('/*')) {
      const prefix = range.slice(0, -1)
      if (fallback.startsWith(prefix)) return fallback
      const match = produces.find((type) => type.startsWith(prefix))
      if (match !== undefined) return match
    } else if (produces.includes(range)) {
      return range
    }
  }
  throw new HandlerError(406, `cannot produce ${accept}; this model answers ${produces.join(', ')}`)
}

/** Rejects a Content-Type the handler does not read (RFC 9110 §15.5.16: 415). */
export function requireContentType(contentType: string, accepts: readonly string[]): string {
  const type = mediaType(contentType)
  if (!accepts.includes(type)) {
    const got = type === '' ? 'no content type' : `content type ${type}`
    throw new HandlerError(415, `unsupported ${got}; this model accepts ${accepts.join(', ')}`)
  }
  return type
}
