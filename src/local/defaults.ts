import type { ModelConfig } from '../config.js'

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
  /** Folder under handlers/ served by this endpoint's container. */
  handler: string
  /** A container already running elsewhere (a real model container, or a test's); no handler is hosted then. */
  containerUrl?: string
  maxConcurrentInvocationsPerInstance: number
  instanceCount: number
}

export const localEndpoints: LocalEndpointDefinition[] = [
  { name: 'video-frames-async', mode: 'async', handler: 'video-frames', maxConcurrentInvocationsPerInstance: 2, instanceCount: 1 },
  { name: 'summarize-async', mode: 'async', handler: 'summarize', maxConcurrentInvocationsPerInstance: 4, instanceCount: 1 },
]

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
}
