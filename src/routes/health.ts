import type { FastifyInstance } from 'fastify'
import type { DependencyMonitor } from '../services/dependency-monitor.js'
import type { Lifecycle } from '../services/lifecycle.js'
import type { Metrics } from '../metrics.js'

export interface HealthDeps {
  lifecycle: Lifecycle
  dependencies: DependencyMonitor
  metrics: Metrics
  /** /metrics needs a key (auth.metricsRequireKey). */
  metricsRequireKey: boolean
}

/**
 * Liveness: the process answers. Readiness: the process can serve and is not draining. S3 and the
 * SageMaker runtime are reported (from the background checks, so /readyz never waits on them) but do
 * not decide readiness: every replica shares them, so failing readiness when S3 is slow would take
 * all replicas out of the load balancer at once — including real-time predict, which does not use
 * S3 — and gain nothing, since no other replica could do better. Requests that need a failing
 * dependency answer 503/504 with Retry-After instead; alert on sagegate_dependency_up.
 */
const REFRESH_AFTER_MS = 2_000

export function healthRoutes(deps: HealthDeps) {
  return async (app: FastifyInstance) => {
    // Open to everyone (routes/access.ts): probes carry no key.
    app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }))

    app.get('/readyz', { config: { public: true } }, async (_request, reply) => {
      const checks = deps.dependencies.snapshot()
      // The answer never waits; a probe that comes often keeps the details fresh for the next one.
      deps.dependencies.refreshIfOlderThan(REFRESH_AFTER_MS)
      if (deps.lifecycle.draining) return reply.code(503).send({ status: 'draining', checks })
      return { status: 'ready', checks }
    })

    app.get('/metrics', { config: { public: !deps.metricsRequireKey } }, async (_request, reply) => {
      return reply.type(deps.metrics.contentType).send(await deps.metrics.text())
    })
  }
}
