import { sendJson } from './errors.js'
import type { EndpointQueue } from './async-queue.js'
import { createLocalMetrics } from './local-metrics.js'
import type { RealtimeEndpoint } from './realtime-endpoints.js'
import type { EndpointRegistry } from './registry.js'
import type { Router } from './router.js'

export interface LocalRoutesDeps {
  registry: EndpointRegistry
  queues: ReadonlyMap<string, EndpointQueue>
  realtime: ReadonlyMap<string, RealtimeEndpoint>
}

/**
 * Routes that are not part of AWS's API (prefix `/_local/`), unauthenticated like the rest of the
 * loopback-only local stack: readiness (`GET /ping`, used by the gateway's probe) and the
 * CloudWatch-like counters of each endpoint (async queues; real-time invocations and, for multi-model
 * endpoints, loads, unloads, cold starts and the loaded models), also in Prometheus form at
 * `GET /_local/metrics` (local-metrics.ts).
 */
export function registerLocalRoutes(router: Router, deps: LocalRoutesDeps): void {
  const metrics = createLocalMetrics(deps)
  router.add('GET', '/_local/metrics', async ({ res }) => {
    const text = await metrics.metrics()
    res.writeHead(200, { 'Content-Type': metrics.contentType, 'Content-Length': String(Buffer.byteLength(text)) })
    res.end(text)
  })
  router.add('GET', '/ping', async ({ res }) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '0' })
    res.end()
  })
  router.add('GET', '/_local/endpoints', async ({ res }) => {
    const endpoints = deps.registry.all().map((e) => ({
      name: e.name,
      mode: e.mode,
      containerUrl: e.containerUrl,
      ...(e.async !== undefined ? { async: e.async } : {}),
      ...(e.multiModel !== undefined ? { modelDataUrl: e.multiModel.modelDataUrl, maxLoadedModels: e.multiModel.maxLoadedModels } : {}),
      stats: deps.queues.get(e.name)?.stats() ?? deps.realtime.get(e.name)?.stats() ?? null,
    }))
    sendJson(res, 200, { endpoints })
  })
  router.add('GET', '/_local/endpoints/{EndpointName}/stats', async ({ res, params }) => {
    const name = params['EndpointName'] ?? ''
    const endpoint = deps.registry.get(name)
    if (endpoint === undefined) {
      sendJson(res, 404, { message: `No endpoint named ${name}.` })
      return
    }
    const stats = deps.queues.get(endpoint.name)?.stats() ?? deps.realtime.get(endpoint.name)?.stats()
    if (stats === undefined) {
      sendJson(res, 404, { message: `Endpoint ${endpoint.name} has no counters.` })
      return
    }
    sendJson(res, 200, stats)
  })
}
