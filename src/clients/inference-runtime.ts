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

export interface StreamingResult extends RealtimeMeta {
  /** The answer's bytes as they arrive; throws if the model fails mid-stream. */
  chunks: AsyncIterable<Uint8Array>
}

export interface InvokeOptions {
  signal?: AbortSignal
  timeoutMs: number
}

export interface RealtimeRuntime {
  invoke(request: RealtimeInvocation, options: InvokeOptions): Promise<RealtimeResult>
  invokeStream(request: RealtimeInvocation, options: InvokeOptions): Promise<StreamingResult>
}
