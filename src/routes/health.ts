import type { FastifyInstance } from 'fastify'
import type { InferenceRuntime } from '../clients/inference-runtime.js'
import type { ObjectStore } from '../clients/object-store.js'

export interface HealthDeps {
  store: ObjectStore
  runtime: InferenceRuntime
  bucket: string
}

export function healthRoutes(deps: HealthDeps) {
  return async (app: FastifyInstance) => {
    app.get('/healthz', async () => ({ status: 'ok' }))

    app.get('/readyz', async (request, reply) => {
      const check = async (probe: (signal: AbortSignal) => Promise<void>) => {
        try {
          await probe(AbortSignal.timeout(2000))
          return 'ok'
        } catch (err) {
          request.log.warn({ err }, 'readiness check failed')
          return 'unreachable'
        }
      }
      const [storage, runtime] = await Promise.all([
        check((signal) => deps.store.ping(deps.bucket, signal)),
        check((signal) => deps.runtime.ping(signal)),
      ])
      const ready = storage === 'ok' && runtime === 'ok'
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { storage, runtime } })
    })
  }
}
