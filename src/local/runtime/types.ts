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
  /** NotificationConfig: the local SNS topics told of each output (SuccessTopic) and failure (ErrorTopic). */
  notifications?: { successTopicArn?: string; errorTopicArn?: string }
}

/**
 * A multi-model endpoint (the Model's `Mode: MultiModel` with its ModelDataUrl prefix). The container
 * implements the MME contract (`/models` load/list/get/delete, `/models/{name}/invoke`).
 */
export interface MultiModelConfig {
  /** `s3://bucket/prefix/`; TargetModel is a key relative to it (a missing trailing "/" is implied). */
  modelDataUrl: string
  /** Where artifacts are unpacked: `<modelsDir>/<model-id>/model` (SageMaker: /opt/ml/models/<id>/model). */
  modelsDir: string
  /** How many models the container keeps loaded; the least recently used is unloaded beyond it. */
  maxLoadedModels: number
  /** Default 60_000: a call waiting longer for a load gets ModelNotReadyException (the load continues). */
  notReadyAfterMs?: number
  /** Default 360_000: a load (download, unpack, container load) taking longer fails. */
  maxLoadMs?: number
}

export interface RuntimeEndpoint {
  name: string
  mode: 'async' | 'realtime'
  /** Base URL of a container that implements the SageMaker container contract (`/ping`, `/invocations`). */
  containerUrl: string
  async?: AsyncEndpointConfig
  /** Real-time only: routes by TargetModel to models loaded from an S3 prefix. */
  multiModel?: MultiModelConfig
  /** Real-time only; default 60_000: the model container must answer InvokeEndpoint within 60 s. */
  containerTimeoutMs?: number
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
  /**
   * Where accepted async requests are persisted until they reach their end, and reloaded from at start
   * (see async-journal.ts). Without it the async queues live in memory only.
   */
  stateDir?: string
  /** Waits after an async endpoint's container could not be reached; default 250 ms doubling to 5 s. */
  asyncRetry?: { initialDelayMs: number; maxDelayMs: number }
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

/** Counters of a real-time endpoint (CloudWatch Invocations, ModelErrors, and the MME model-cache metrics). */
export interface RealtimeEndpointStats {
  endpointName: string
  /** InvokeEndpoint and InvokeEndpointWithResponseStream calls that reached the endpoint (Invocations). */
  invocations: number
  inFlight: number
  /** Calls answered with a ModelError or ended by a ModelStreamError (Invocation4XXErrors-like). */
  modelErrors: number
  /** Multi-model endpoints only, else null. */
  multiModel: MultiModelStats | null
}

export interface MultiModelStats {
  /** Loads completed (ModelLoadingCount-like: download, unpack and container load). */
  loads: number
  failedLoads: number
  /** Models unloaded to make room (ModelUnloadingTime's count). */
  unloads: number
  /** Invocations that found their model not loaded and waited for (or started) a load (ModelCacheHit = 0). */
  coldStarts: number
  /** Loads in progress. */
  loading: number
  /** Models loaded now (LoadedModelCount). */
  loadedModels: number
  /** Their TargetModels, least recently used first. */
  loaded: string[]
}

export interface LocalRuntime {
  url: string
  port: number
  /** Async endpoints' queues. */
  stats(): EndpointStats[]
  /** Real-time endpoints (single- and multi-model). */
  realtimeStats(): RealtimeEndpointStats[]
  close(): Promise<void>
}
