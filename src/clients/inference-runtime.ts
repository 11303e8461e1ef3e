import type { Readable } from 'node:stream'

/** What the gateway needs from the SageMaker runtime. Implemented by the SageMaker SDK adapter. */
export interface AsyncInvocation {
  endpointName: string
  inputLocation: string
  contentType: string
  accept?: string
  customAttributes?: string
  inferenceId: string
  ttlSeconds: number
  invocationTimeoutSeconds: number
}

export interface AsyncInvocationResult {
  inferenceId: string
  outputLocation: string
  failureLocation?: string
}

export interface InferenceRuntime extends RealtimeRuntime {
  invokeAsync(request: AsyncInvocation, signal?: AbortSignal): Promise<AsyncInvocationResult>
  /** Throws when the runtime cannot be reached. */
  ping(signal?: AbortSignal): Promise<void>
}

export interface RealtimeInvocation {
  endpointName: string
  body: Uint8Array
  contentType?: string
  accept?: string
  customAttributes?: string
  targetModel?: string
  inferenceId?: string
}

export interface RealtimeMeta {
  contentType?: string
  invokedVariant?: string
  customAttributes?: string
}

export interface RealtimeResult extends RealtimeMeta {
  body: Uint8Array
}

/** An answer handed over with its body still unread (InvokeOptions.unbuffered). */
export interface UnbufferedResult extends RealtimeMeta {
  /** The answer's bytes as they arrive; the caller reads it to its end or destroys it. */
  stream: Readable
  /** The answer's Content-Length, when the runtime sent one. */
  contentLength?: number
}

export interface StreamingResult extends RealtimeMeta {
  /** The answer's bytes as they arrive; throws if the model fails mid-stream. */
  chunks: AsyncIterable<Uint8Array>
}

export interface InvokeOptions {
  signal?: AbortSignal
  timeoutMs: number
  /**
   * invoke() may resolve at the answer's headers with a large body unread (an UnbufferedResult), so
   * that the caller can forward it as it arrives. Without it, invoke() reads the whole body first.
   */
  unbuffered?: boolean
}

export interface RealtimeRuntime {
  /** A RealtimeResult, or with `unbuffered` possibly an UnbufferedResult. */
  invoke(request: RealtimeInvocation, options: InvokeOptions): Promise<RealtimeResult | UnbufferedResult>
  invokeStream(request: RealtimeInvocation, options: InvokeOptions): Promise<StreamingResult>
}
