import { InvokeEndpointAsyncCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { AppError, errors } from '../errors.js'
import type { AsyncInvocation, AsyncInvocationResult, InferenceRuntime } from './inference-runtime.js'

export interface SageMakerInferenceRuntimeOptions {
  client: SageMakerRuntimeClient
  /** The runtime's base URL, for the reachability probe (the API has no health operation). */
  endpointUrl: string
}

interface SdkError {
  name?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  code?: string
}

/**
 * SageMaker errors → gateway errors (DESIGN.md "Errors"). Throttling, ServiceUnavailable and an
 * unreachable runtime are the caller's to retry (503 + Retry-After); anything else, including a
 * ValidationError (our configuration or request is wrong, not the client's), is a 502 whose detail is
 * logged, never shown.
 */
export function translateRuntimeError(err: unknown): Error {
  const e = err as SdkError
  if (e.name === 'AbortError') return err as Error
  const status = e.$metadata?.httpStatusCode
  const unreachable = e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT' || e.name === 'TimeoutError'
  if (e.name === 'ServiceUnavailable' || e.name === 'ThrottlingException' || status === 429 || status === 503 || unreachable) {
    return errors.upstreamUnavailable('The inference service', 5, err)
  }
  return new AppError('upstream_error', 502, 'The inference service rejected or failed the request.', {
    details: { upstreamError: e.name ?? 'Error' },
    cause: err,
  })
}

export function createSageMakerInferenceRuntime(options: SageMakerInferenceRuntimeOptions): InferenceRuntime {
  const { client } = options
  return {
    async invokeAsync(req: AsyncInvocation, signal?: AbortSignal): Promise<AsyncInvocationResult> {
      try {
        const out = await client.send(
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
      } catch (err) {
        throw translateRuntimeError(err)
      }
    },

    async ping(signal?: AbortSignal) {
      // Any HTTP answer means the runtime is reachable; only a network failure is "not ready".
      const res = await fetch(new URL('/ping', options.endpointUrl), { signal: signal ?? AbortSignal.timeout(2000) })
      await res.body?.cancel()
    },
  }
}
