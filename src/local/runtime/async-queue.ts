import type { Logger } from 'pino'
import { runAsyncJob, writeFailureBody, type AsyncJob, type JobDeps } from './async-job.js'
import { requestExpiredFailure } from './failure-bodies.js'
import type { AsyncEndpointConfig, EndpointStats } from './types.js'
import type { S3Client } from '@aws-sdk/client-s3'

export interface EndpointQueueOptions {
  endpointName: string
  containerUrl: string
  config: AsyncEndpointConfig
  s3: S3Client
  clock: () => number
  logger: Logger
}

export interface EndpointQueue {
  enqueue(job: AsyncJob): void
  /** Expires every queued request past its RequestTTLSeconds (called periodically, not only at dequeue). */
  sweepExpired(): void
  stats(): EndpointStats
  /** Drops the backlog, aborts in-flight work (no failure objects) and waits for it to settle. */
  close(): Promise<void>
}

/**
 * One async endpoint's queue: FIFO, at most MaxConcurrentInvocationsPerInstance × instances in
 * flight (the async-inference ClientConfig), RequestTTLSeconds measured by the injected clock.
 */
export function createEndpointQueue(o: EndpointQueueOptions): EndpointQueue {
  const capacity = o.config.maxConcurrentInvocationsPerInstance * o.config.instanceCount
  const deps: JobDeps = { s3: o.s3, containerUrl: o.containerUrl, logger: o.logger }
  const shutdown = new AbortController()
  const tasks = new Set<Promise<void>>()
  let backlog: AsyncJob[] = []
  let inFlight = 0
  let processed = 0
  let failed = 0
  let expired = 0

  const isExpired = (job: AsyncJob): boolean => o.clock() - job.receivedAtMs > job.requestTtlSeconds * 1000

  const track = (p: Promise<void>): void => {
    tasks.add(p)
    void p.finally(() => tasks.delete(p))
  }

  function expire(job: AsyncJob): void {
    expired++
    o.logger.warn({ inferenceId: job.inferenceId, endpoint: o.endpointName, failure: job.locations.failure?.uri }, 'async request expired')
    track(writeFailureBody(job, deps, requestExpiredFailure(job.requestTtlSeconds), shutdown.signal))
  }

  function start(job: AsyncJob): void {
    inFlight++
    track(
      runAsyncJob(job, deps, shutdown.signal)
        .then(
          (outcome) => {
            if (outcome === 'processed') processed++
            else if (outcome === 'failed') failed++
          },
          (err: unknown) => {
            failed++
            o.logger.error({ err, inferenceId: job.inferenceId }, 'async job crashed')
          },
        )
        .finally(() => {
          inFlight--
          pump()
        }),
    )
  }

  function pump(): void {
    while (!shutdown.signal.aborted && inFlight < capacity && backlog.length > 0) {
      const job = backlog.shift()!
      if (isExpired(job)) expire(job)
      else start(job)
    }
  }

  return {
    enqueue(job) {
      if (shutdown.signal.aborted) return
      backlog.push(job)
      pump()
    },
    sweepExpired() {
      if (backlog.length === 0 || shutdown.signal.aborted) return
      const kept: AsyncJob[] = []
      for (const job of backlog) {
        if (isExpired(job)) expire(job)
        else kept.push(job)
      }
      backlog = kept
    },
    stats() {
      const oldest = backlog[0]
      return {
        endpointName: o.endpointName,
        backlog: backlog.length,
        inFlight,
        processed,
        failed,
        expired,
        oldestRequestAgeMs: oldest === undefined ? null : Math.max(0, o.clock() - oldest.receivedAtMs),
      }
    },
    async close() {
      backlog = []
      shutdown.abort(new Error('local runtime closing'))
      await Promise.allSettled([...tasks])
    },
  }
}
