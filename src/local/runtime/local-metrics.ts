import { Counter, Gauge, Registry } from 'prom-client'
import type { EndpointQueue } from './async-queue.js'
import type { RealtimeEndpoint } from './realtime-endpoints.js'
import type { EndpointRegistry } from './registry.js'

export interface LocalMetricsDeps {
  registry: EndpointRegistry
  queues: ReadonlyMap<string, EndpointQueue>
  realtime: ReadonlyMap<string, RealtimeEndpoint>
}

/**
 * The runtime's counters in Prometheus form, under the names CloudWatch gives them (AWS/SageMaker and
 * /aws/sagemaker/Endpoints), so a dashboard built on the local stack reads the same series as one fed
 * from CloudWatch by an exporter. Every value is read from the endpoints' own stats at scrape time
 * (`collect`), so nothing here can drift from `/_local/endpoints`. One registry per runtime: tests
 * run several runtimes in one process, and the process-wide default registry would mix them.
 */
export function createLocalMetrics(deps: LocalMetricsDeps): Registry {
  const registers = [new Registry()]
  const labelNames = ['endpoint_name'] as const
  const asyncStats = () =>
    [...deps.queues.values()].map((q) => {
      const stats = q.stats()
      return { stats, instances: deps.registry.get(stats.endpointName)?.async?.instanceCount ?? 1 }
    })

  /** A gauge (or counter) with one value per async endpoint, read from its queue's stats. */
  const perQueue = (kind: 'gauge' | 'counter', name: string, help: string, value: (s: ReturnType<typeof asyncStats>[number]) => number) => {
    if (kind === 'gauge') {
      new Gauge({
        name, help, labelNames, registers,
        collect() {
          this.reset()
          for (const s of asyncStats()) this.set({ endpoint_name: s.stats.endpointName }, value(s))
        },
      })
      return
    }
    new Counter({
      name, help, labelNames, registers,
      collect() {
        this.reset()
        for (const s of asyncStats()) this.inc({ endpoint_name: s.stats.endpointName }, value(s))
      },
    })
  }

  perQueue('gauge', 'ApproximateBacklogSize', 'Async requests queued and not yet started.', (s) => s.stats.backlog)
  perQueue('gauge', 'ApproximateBacklogSizePerInstance', 'ApproximateBacklogSize divided by the endpoint\'s instance count.', (s) => s.stats.backlog / s.instances)
  perQueue('gauge', 'ApproximateAgeOfOldestRequest', 'Seconds the oldest queued async request has waited; 0 with an empty queue.', (s) => (s.stats.oldestRequestAgeMs ?? 0) / 1000)
  // AWS: 1 while requests wait on an endpoint scaled to zero instances. Local endpoints have at least one.
  perQueue('gauge', 'HasBacklogWithoutCapacity', '1 while async requests are queued and the endpoint has no instance.', (s) => (s.stats.backlog > 0 && s.instances === 0 ? 1 : 0))
  perQueue('counter', 'InvocationsProcessed', 'Async requests completed with an output object.', (s) => s.stats.processed)
  perQueue('counter', 'InvocationFailures', 'Async requests ended with a failure object (model error, timeout, unreadable input).', (s) => s.stats.failed)
  perQueue('counter', 'ExpiredRequests', 'Async requests dropped after RequestTTLSeconds in the queue.', (s) => s.stats.expired)

  // Not a CloudWatch metric (CloudWatch has no in-flight count for these endpoints): the runtime's own.
  new Gauge({
    name: 'InvocationsInFlight',
    help: 'Invocations running now: async requests started and not ended, real-time calls not answered.',
    labelNames, registers,
    collect() {
      this.reset()
      for (const s of asyncStats()) this.set({ endpoint_name: s.stats.endpointName }, s.stats.inFlight)
      for (const r of deps.realtime.values()) this.set({ endpoint_name: r.stats().endpointName }, r.stats().inFlight)
    },
  })
  new Counter({
    name: 'Invocations',
    help: 'Real-time calls (InvokeEndpoint, InvokeEndpointWithResponseStream) that reached the endpoint.',
    labelNames, registers,
    collect() {
      this.reset()
      for (const r of deps.realtime.values()) this.inc({ endpoint_name: r.stats().endpointName }, r.stats().invocations)
    },
  })
  new Gauge({
    name: 'LoadedModelCount',
    help: 'Models loaded now in a multi-model endpoint.',
    labelNames, registers,
    collect() {
      this.reset()
      for (const r of deps.realtime.values()) {
        const stats = r.stats()
        if (stats.multiModel !== null) this.set({ endpoint_name: stats.endpointName }, stats.multiModel.loadedModels)
      }
    },
  })
  return registers[0]!
}
