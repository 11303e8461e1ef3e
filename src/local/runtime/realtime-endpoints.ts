import type { S3Client } from '@aws-sdk/client-s3'
import type { Logger } from 'pino'
import { DEFAULT_CONTAINER_TIMEOUT_MS } from './container-exchange.js'
import type { ModelErrorScope } from './errors.js'
import { createModelManager, type ModelManager } from './model-manager.js'
import type { EndpointRegistry } from './registry.js'
import type { RealtimeEndpointStats, RuntimeEndpoint } from './types.js'

/** What the runtime keeps for one real-time endpoint: its counters and, for an MME, its loaded models. */
export interface RealtimeEndpoint {
  endpoint: RuntimeEndpoint
  scope: ModelErrorScope
  containerTimeoutMs: number
  counters: { invocations: number; inFlight: number; modelErrors: number }
  /** Multi-model endpoints only. */
  models: ModelManager | undefined
  stats(): RealtimeEndpointStats
}

export interface RealtimeEndpointsOptions {
  registry: EndpointRegistry
  s3: S3Client
  region: string
  accountId: string
  logger: Logger
}

export function createRealtimeEndpoints(o: RealtimeEndpointsOptions): Map<string, RealtimeEndpoint> {
  const byName = new Map<string, RealtimeEndpoint>()
  for (const endpoint of o.registry.all()) {
    if (endpoint.mode !== 'realtime') continue
    const scope: ModelErrorScope = { region: o.region, accountId: o.accountId, endpointName: endpoint.name }
    const counters = { invocations: 0, inFlight: 0, modelErrors: 0 }
    const models =
      endpoint.multiModel === undefined
        ? undefined
        : createModelManager({
            config: endpoint.multiModel,
            containerUrl: endpoint.containerUrl,
            s3: o.s3,
            scope,
            logger: o.logger.child({ endpoint: endpoint.name }),
          })
    byName.set(endpoint.name, {
      endpoint,
      scope,
      containerTimeoutMs: endpoint.containerTimeoutMs ?? DEFAULT_CONTAINER_TIMEOUT_MS,
      counters,
      models,
      stats: () => ({ endpointName: endpoint.name, ...counters, multiModel: models?.stats() ?? null }),
    })
  }
  return byName
}
