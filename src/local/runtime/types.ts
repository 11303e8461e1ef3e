import type { S3Client } from '@aws-sdk/client-s3'
import type { Logger } from 'pino'

/** Mirrors the endpoint config's `AsyncInferenceConfig` (OutputConfig + ClientConfig). */
export interface AsyncEndpointConfig {
  /** `s3://bucket/prefix`; outputs land at `<S3OutputPath>/<inference-id>.out`. */
  s3OutputPath: string
  /** `s3://bucket/prefix`; failures land at `<S3FailurePath>/<inference-id>-error.out`. */
  s3FailurePath?: string
  /** ClientConfig.MaxConcurrentInvocationsPerInstance, 1–1000. */
  maxConcurrentInvocationsPerInstance: number
  instanceCount: number
}

export interface RuntimeEndpoint {
  name: string
  mode: 'async' | 'realtime'
  /** Base URL of a container that implements the SageMaker container contract (`/ping`, `/invocations`). */
  containerUrl: string
  async?: AsyncEndpointConfig
}

export interface LocalRuntimeOptions {
  host?: string
  port?: number
  /** Used in messages and ARNs. */
  region: string
  accountId: string
  /** Accepted access keys (SigV4, signing name `sagemaker`). */
  credentials: Array<{ accessKeyId: string; secretAccessKey: string }>
  /** A ready client aimed at the (local) S3 holding inputs, outputs and failures. */
  s3: S3Client
  endpoints: RuntimeEndpoint[]
  /** ms since epoch; default Date.now. RequestTTLSeconds checks use it so tests can move time. */
  clock?: () => number
  logger?: Logger
}

export interface EndpointStats {
  endpointName: string
  /** Requests queued and not yet started (CloudWatch ApproximateBacklogSize). */
  backlog: number
  inFlight: number
  /** Completed with an output object (InvocationsProcessed). */
  processed: number
  /** Model errors, timeouts, unreadable inputs (InvocationFailures). */
  failed: number
  /** Dropped after RequestTTLSeconds in the queue (ExpiredRequests). */
  expired: number
  /** Age of the oldest queued request by the runtime's clock (ApproximateAgeOfOldestRequest). */
  oldestRequestAgeMs: number | null
}

export interface LocalRuntime {
  url: string
  port: number
  stats(): EndpointStats[]
  close(): Promise<void>
}
