import type { S3Client } from '@aws-sdk/client-s3'
import type { Logger } from 'pino'
import type { AsyncJournal } from './async-journal.js'
import { runAsyncJob, writeFailureBody, type AsyncJob, type JobDeps, type JobOutcome } from './async-job.js'
import { requestExpiredFailure } from './failure-bodies.js'
import type { AsyncEndpointConfig, EndpointStats } from './types.js'

export interface EndpointQueueOptions {
  endpointName: string
  containerUrl: string
  config: AsyncEndpointConfig
  s3: S3Client
  clock: () => number
  logger: Logger
  /** Where accepted requests are persisted; without it the queue lives in memory only. */
  journal?: AsyncJournal
  /** Waits after the container could not be reached (defaults below; tests shorten them). */
  retry?: { initialDelayMs: number; maxDelayMs: number }
  /** Told when a request reaches its end (the endpoint's SNS notifications). */
  onEnd?: JobDeps['onEnd']
}

export interface EndpointQueue {
  /** Persists the request (when there is a journal), then queues it; resolves once it is durable. */
  enqueue(job: AsyncJob): Promise<void>
  /** Queues requests loaded from the journal at start, already in arrival order. */
  restore(jobs: AsyncJob[]): void
  /** Expires every queued request past its RequestTTLSeconds (called periodically, not only at dequeue). */
  sweepExpired(): void
  stats(): EndpointStats
  /**
   * Drops the backlog, aborts in-flight work (no failure objects) and waits for it to settle. Persisted
   * requests keep their files, so they run on the next start.
   */
  close(): Promise<void>
}

const DEFAULT_RETRY = { initialDelayMs: 250, maxDelayMs: 5000 }
/**
 * A request whose exchange broke (reset before any status) this many times fails with a failure
 * object: a container restarting is retried, a request that takes the connection down every time is not.
 */
const MAX_BROKEN_EXCHANGES = 3

/**
 * One async endpoint's queue: FIFO, at most MaxConcurrentInvocationsPerInstance × instances in
 * flight (the async-inference ClientConfig), RequestTTLSeconds measured by the injected clock from
 * the original receivedAtMs (also across restarts and retries). A request leaves the journal only at
 * its end: output written, failure object written, or expired with its failure object written.
 * While the container cannot be reached the endpoint pauses, with a doubling backoff, and the
 * request waits at the front of the queue.
 */
export function createEndpointQueue(o: EndpointQueueOptions): EndpointQueue {
  const capacity = o.config.maxConcurrentInvocationsPerInstance * o.config.instanceCount
  const retry = o.retry ?? DEFAULT_RETRY
  const deps: JobDeps = { s3: o.s3, containerUrl: o.containerUrl, logger: o.logger, ...(o.onEnd !== undefined ? { onEnd: o.onEnd } : {}) }
  const shutdown = new AbortController()
  const tasks = new Set<Promise<unknown>>()
  const brokenExchanges = new WeakMap<AsyncJob, number>()
  let backlog: AsyncJob[] = []
  let inFlight = 0
  let processed = 0
  let failed = 0
  let expired = 0
  let retryDelayMs = retry.initialDelayMs
  let paused: NodeJS.Timeout | undefined
  // Journal writes run one after another, so requests join the backlog in the order they arrived.
  let admitted: Promise<unknown> = Promise.resolve()

  const isExpired = (job: AsyncJob): boolean => o.clock() - job.receivedAtMs > job.requestTtlSeconds * 1000

  const track = <T>(p: Promise<T>): Promise<T> => {
    tasks.add(p)
    void p.finally(() => tasks.delete(p)).catch(() => undefined)
    return p
  }

  const forget = (job: AsyncJob): Promise<void> => o.journal?.remove(job) ?? Promise.resolve()

  function expire(job: AsyncJob): void {
    expired++
    o.logger.warn({ inferenceId: job.inferenceId, endpoint: o.endpointName, failure: job.locations.failure?.uri }, 'async request expired')
    const written = writeFailureBody(job, deps, requestExpiredFailure(job.requestTtlSeconds), shutdown.signal)
    track(written.then((ended) => (ended ? forget(job) : undefined)))
  }

  /** Back to its place by arrival (the front, unless older requests came back too), the endpoint paused. */
  function requeue(job: AsyncJob, outcome: JobOutcome): void {
    if (shutdown.signal.aborted) return // its file stays: it runs on the next start
    const at = backlog.findIndex((queued) => queued.receivedAtMs > job.receivedAtMs)
    backlog.splice(at < 0 ? backlog.length : at, 0, job)
    if (paused !== undefined) return
    const delayMs = retryDelayMs
    retryDelayMs = Math.min(retryDelayMs * 2, retry.maxDelayMs)
    o.logger.warn(
      { inferenceId: job.inferenceId, endpoint: o.endpointName, container: o.containerUrl, outcome, retryInMs: delayMs },
      'model container unreachable; request requeued',
    )
    paused = setTimeout(() => {
      paused = undefined
      pump()
    }, delayMs)
  }

  function settle(job: AsyncJob, outcome: JobOutcome): void {
    if (outcome === 'unreachable' || outcome === 'broken') {
      if (outcome === 'broken') brokenExchanges.set(job, (brokenExchanges.get(job) ?? 0) + 1)
      requeue(job, outcome)
      return
    }
    retryDelayMs = retry.initialDelayMs // the container answered
    if (outcome === 'processed') processed++
    else if (outcome === 'failed' || outcome === 'unrecorded') failed++
    // An unrecorded failure keeps its file: the request runs again after a restart.
    if (outcome === 'processed' || outcome === 'failed') track(forget(job))
  }

  function start(job: AsyncJob): void {
    inFlight++
    const retryBrokenExchange = (brokenExchanges.get(job) ?? 0) < MAX_BROKEN_EXCHANGES - 1
    track(
      runAsyncJob(job, deps, { shutdown: shutdown.signal, retryBrokenExchange })
        .then(
          (outcome) => settle(job, outcome),
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
    while (!shutdown.signal.aborted && paused === undefined && inFlight < capacity && backlog.length > 0) {
      const job = backlog.shift()!
      if (isExpired(job)) expire(job)
      else start(job)
    }
  }

  return {
    async enqueue(job) {
      const write = admitted.then(() => o.journal?.record(job))
      admitted = track(write).catch(() => undefined)
      await write
      // Accepted while closing: the file is written, so it runs on the next start.
      if (shutdown.signal.aborted) return
      backlog.push(job)
      pump()
    },
    restore(jobs) {
      if (shutdown.signal.aborted) return
      backlog.push(...jobs)
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
      clearTimeout(paused)
      paused = undefined
      shutdown.abort(new Error('local runtime closing'))
      while (tasks.size > 0) await Promise.allSettled([...tasks])
    },
  }
}
