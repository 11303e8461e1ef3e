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

export interface InferenceRuntime {
  invokeAsync(request: AsyncInvocation, signal?: AbortSignal): Promise<AsyncInvocationResult>
  /** Throws when the runtime cannot be reached. */
  ping(signal?: AbortSignal): Promise<void>
}
