import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { json, publicProblems } from '../api/responses.js'
import { Health, Readiness } from '../api/schemas.js'
import type { DependencyMonitor } from '../services/dependency-monitor.js'
import type { Lifecycle } from '../services/lifecycle.js'
import type { Metrics } from '../metrics.js'

export interface HealthDeps {
  lifecycle: Lifecycle
  dependencies: DependencyMonitor
  metrics: Metrics
  /** /metrics needs a key (auth.metricsRequireKey). */
  metricsRequireKey: boolean
  /** False when the metrics have a port of their own (server.metricsPort, metrics-server.ts). */
  serveMetrics: boolean
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
  return async (plain: FastifyInstance) => {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    // Open to everyone (routes/access.ts): probes carry no key.
    app.get(
      '/healthz',
      {
        config: { public: true },
        schema: { tags: ['health'], summary: 'Liveness', operationId: 'healthz', security: [], response: { 200: json(Health, 'The process is up'), ...publicProblems } },
      },
      async () => ({ status: 'ok' as const }),
    )

    const readiness = `Readiness: the process can serve and is not draining (503 from the moment a drain, SIGTERM, starts).
S3 and the SageMaker runtime are reported in \`checks\` from background checks (every 10 s), but do not decide
readiness: all replicas share them, and failing readiness when S3 is slow would take real-time predict (which
does not use S3) out of the load balancer on every replica at once.`
    app.get(
      '/readyz',
      {
        config: { public: true },
        schema: {
          tags: ['health'],
          summary: 'Readiness',
          description: readiness,
          operationId: 'readyz',
          security: [],
          response: { 200: json(Readiness, 'Ready'), 503: json(Readiness, 'Draining'), ...publicProblems },
        },
      },
      async (_request, reply) => {
      const checks = deps.dependencies.snapshot()
      // The answer never waits; a probe that comes often keeps the details fresh for the next one.
      deps.dependencies.refreshIfOlderThan(REFRESH_AFTER_MS)
      if (deps.lifecycle.draining) return reply.code(503).send({ status: 'draining', checks })
      return { status: 'ready' as const, checks }
    })

    if (!deps.serveMetrics) return
    app.get(
      '/metrics',
      {
        config: { public: !deps.metricsRequireKey },
        schema: {
          tags: ['health'],
          summary: 'Prometheus metrics',
          description:
            "Prometheus text: process metrics (`sagegate_process_*`, `sagegate_nodejs_*`), `http_request_duration_seconds` by route, method and status class, and the gateway's own `sagegate_*` series: AWS calls (latency, attempts, errors by operation and code), upload bytes, uploads in flight and refused, jobs created and finished by model and outcome, job duration, waits, webhooks pending and delivered, SNS notifications, ModelNotReady answers, problems by code, client disconnects and timeouts, dependency reachability, drain state, pending S3 cleanups, refused keys, rate-limited and shed requests (README: Metrics). Open unless `auth.metricsRequireKey` is set; then any valid key.",
          operationId: 'metrics',
          security: deps.metricsRequireKey ? [{ bearer: [] }, { apiKey: [] }] : [],
          response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } }, ...publicProblems },
        },
      },
      async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.text()),
    )
  }
}
