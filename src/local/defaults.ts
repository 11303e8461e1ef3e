import type { ModelConfig, MultiModelEndpointConfig } from '../config.js'

/**
 * What the embedded local stack serves when no models are configured: the endpoints the local
 * SageMaker runtime hosts, the handler behind each, and the gateway models routed to them.
 */
export const LOCAL_BUCKET = 'sagegate-local'
export const LOCAL_REGION = 'us-east-1'
export const LOCAL_ACCOUNT_ID = '000000000000'

const MiB = 1024 * 1024

export interface LocalEndpointDefinition {
  name: string
  mode: 'async' | 'realtime'
  /** Folder under handlers/ served by this endpoint's container (not for multi-model endpoints). */
  handler?: string
  /** A container already running elsewhere (a real model container, or a test's); no handler is hosted then. */
  containerUrl?: string
  /** Async endpoints: ClientConfig.MaxConcurrentInvocationsPerInstance and the instance count. */
  maxConcurrentInvocationsPerInstance?: number
  instanceCount?: number
  /** The container's environment (like a SageMaker Model's Environment). */
  env?: Record<string, string>
  /** Multi-model endpoint: artifacts under `s3://<bucket>/<prefix>`, published from handlers/<name>/model. */
  multiModel?: { prefix: string; maxLoadedModels: number; artifacts: string[]; notReadyAfterMs?: number }
}

const MME_PREFIX = 'models/mme-realtime/'

export const localEndpoints: LocalEndpointDefinition[] = [
  { name: 'video-frames-async', mode: 'async', handler: 'video-frames', maxConcurrentInvocationsPerInstance: 2, instanceCount: 1 },
  { name: 'summarize-async', mode: 'async', handler: 'summarize', maxConcurrentInvocationsPerInstance: 4, instanceCount: 1 },
  { name: 'mme-realtime', mode: 'realtime', multiModel: { prefix: MME_PREFIX, maxLoadedModels: 8, artifacts: ['echo', 'sentiment', 'language-id'] } },
  { name: 'summarize-live', mode: 'realtime', handler: 'summarize', env: { SUMMARIZE_STREAM: 'true' } },
]

/** The gateway's view of the local multi-model endpoint: every artifact under its prefix is a model. */
export const localMultiModelEndpoints: Record<string, MultiModelEndpointConfig> = {
  'mme-realtime': {
    modelDataUrl: `s3://${LOCAL_BUCKET}/${MME_PREFIX}`,
    discover: true,
    discoveryTtlMs: 30_000,
    maxBytes: 6 * 1024 * 1024,
    timeoutMs: 70_000,
    coldStartWaitMs: 30_000,
  },
}

/** Where an async endpoint writes outputs and failures (its AsyncInferenceConfig). */
export const asyncPaths = (bucket: string, endpoint: string) => ({
  s3OutputPath: `s3://${bucket}/async-inference/${endpoint}/output`,
  s3FailurePath: `s3://${bucket}/async-inference/${endpoint}/failure`,
})

export const localModels: Record<string, ModelConfig> = {
  'video-frames': {
    mode: 'async',
    endpointName: 'video-frames-async',
    contentTypes: ['video/mp4', 'video/quicktime', 'video/webm'],
    maxBytes: 1024 * MiB,
    ttlSeconds: 21600,
    invocationTimeoutSeconds: 3600,
    description: 'Samples frames (1 per second, or fps=N in custom attributes) and reports per-frame statistics and scene changes.',
  },
  summarize: {
    mode: 'async',
    endpointName: 'summarize-async',
    contentTypes: ['text/plain', 'application/json'],
    maxBytes: 10 * MiB,
    ttlSeconds: 21600,
    invocationTimeoutSeconds: 900,
    description: 'Extractive summary of a text: {"inputs": "..."} or text/plain → [{"summary_text": "..."}].',
  },
  'summarize-live': {
    mode: 'realtime',
    endpointName: 'summarize-live',
    contentTypes: ['text/plain', 'application/json'],
    maxBytes: 6 * MiB,
    timeoutMs: 70_000,
    coldStartWaitMs: 0,
    streaming: true,
    description: 'Real-time extractive summary, streamed sentence by sentence with ?stream=true (application/jsonlines).',
  },
}
