import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'

/**
 * Process metrics (memory, CPU, event loop lag) belong to the process, not to an app: collected once,
 * however many apps a process builds (tests build dozens; each collector keeps an event-loop timer).
 */
let processRegistry: Registry | undefined
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry, prefix: 'sagegate_' })
  }
  return processRegistry
}

/** The gateway's Prometheus metrics, one registry per app, served with the process's at GET /metrics. */
export function createMetrics() {
  const registry = new Registry()
  const processes = processMetrics()
  const m = {
    contentType: registry.contentType,
    /** The exposition text: this app's metrics and the process's. */
    text: () => Registry.merge([processes, registry]).metrics(),
    uploadsInFlight: new Gauge({ name: 'sagegate_uploads_in_flight', help: 'Uploads being received now.', registers: [registry] }),
    uploadsRefused: new Counter({
      name: 'sagegate_uploads_refused_total',
      help: 'Uploads refused before any byte was read: the concurrency cap, or draining.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    problems: new Counter({ name: 'sagegate_problems_total', help: 'Error answers, by problem code.', labelNames: ['code'], registers: [registry] }),
    clientDisconnects: new Counter({
      name: 'sagegate_client_disconnects_total',
      help: 'Requests whose client went away before the answer.',
      labelNames: ['route'],
      registers: [registry],
    }),
    clientTimeouts: new Counter({
      name: 'sagegate_client_timeouts_total',
      help: 'Connections ended because the client sent (body) or read (response) nothing for the idle timeout.',
      labelNames: ['phase'],
      registers: [registry],
    }),
    dependencyUp: new Gauge({
      name: 'sagegate_dependency_up',
      help: '1 when the last reachability check of a dependency passed.',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    dependencyCheckSeconds: new Gauge({
      name: 'sagegate_dependency_check_seconds',
      help: 'How long the last reachability check of a dependency took.',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'sagegate_auth_failures_total',
      help: 'Requests refused by key checking: missing_key, invalid_key, model_not_allowed.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'sagegate_rate_limited_total',
      help: 'Requests refused (429) by a per-client request limit, by key id ("anonymous" for clients limited by address).',
      labelNames: ['key'],
      registers: [registry],
    }),
    shed: new Counter({ name: 'sagegate_shed_total', help: 'Requests refused (503 overloaded) while the event loop was saturated.', registers: [registry] }),
    draining: new Gauge({ name: 'sagegate_draining', help: '1 while the gateway drains (SIGTERM).', registers: [registry] }),
    cleanupPending: new Gauge({
      name: 'sagegate_cleanup_pending',
      help: 'S3 cleanups (multipart aborts, deletes) waiting to be retried.',
      registers: [registry],
    }),
  }
  return m
}

export type Metrics = ReturnType<typeof createMetrics>
