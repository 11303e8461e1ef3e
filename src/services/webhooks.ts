import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { Webhook } from 'standardwebhooks'
import type { ObjectStore } from '../clients/object-store.js'
import type { Config } from '../config.js'
import { errors } from '../errors.js'
import { deadline } from '../lib/deadline.js'
import { describeError } from '../lib/describe-error.js'
import { sleep } from '../lib/sleep.js'
import { createPeriodic } from '../lib/periodic.js'
import { createHostPolicy } from '../lib/ssrf.js'
import type { JobView } from './job-record.js'
import { afterFailedAttempt, createWebhookDocStore, type WebhookDoc } from './webhook-document.js'
import { signedMessage } from './webhook-message.js'
import { nextAttemptAt, nextCheckIntervalMs, RETRY_DELAYS_MS } from './webhook-schedule.js'
import { createWebhookSender, type AttemptOutcome, type SendResult, type WebhookSender } from './webhook-sender.js'

/**
 * Job webhooks (Standard Webhooks): when a job that named a callback URL ends, its JSON view is
 * POSTed there, signed, and retried on Svix's schedule until it is accepted (2xx) or retries run out.
 * Nothing lives only in this replica's memory: the pending delivery is a document in S3
 * (webhook-document.ts), and every replica sweeps the pending markers every sweepIntervalMs, so a
 * delivery survives a restart and is carried on by whichever replica sees it due first. An attempt
 * starts with a claim, a conditional write of a lease over the ETag the replica read: only one
 * replica's claim can succeed, so two replicas never run the same attempt at once.
 */

export interface WebhookEvents {
  /** A delivery accepted; ms from its first attempt (about the POST's time when that attempt succeeds). */
  delivered(latencyMs: number): void
  /** A delivery given up (retries over, or its URL no longer allowed). */
  failed(): void
  /** Pending deliveries found by the last sweep. */
  pending(n: number): void
  attempt(outcome: AttemptOutcome): void
}

export interface WebhooksDeps {
  store: ObjectStore
  storage: { bucket: string; prefix: string }
  config: Config['webhooks']
  /** waits.maxPollIntervalMs: the longest wait between two looks at a running job. */
  maxPollIntervalMs: number
  logger: Logger
  /** The job's view; undefined when it has no record. */
  checkJob: (jobId: string, signal: AbortSignal) => Promise<JobView | undefined>
  clock?: () => number
  replicaId?: string
  events?: Partial<WebhookEvents>
  /** Tests: another sender, or a shorter retry schedule and fixed jitter. */
  sender?: WebhookSender
  retryDelaysMs?: readonly number[]
  random?: () => number
}

/** A lease outlives the attempt's timeout by this much: time for the S3 write that records its outcome. */
const LEASE_MARGIN_MS = 30_000
/** A delivery whose job has no record this long after registration is for a job that never started. */
const ORPHAN_AFTER_MS = 5 * 60_000
const CHECK_TIMEOUT_MS = 10_000
const STORE_CALL_TIMEOUT_MS = 10_000
const MAX_LISTED = 10_000
const SWEEP_CONCURRENCY = 8
const TERMINAL = new Set<string>(['completed', 'failed', 'expired', 'canceled'])

const iso = (ms: number) => new Date(ms).toISOString()

/** Waits for `p` at most `ms`, leaving no timer behind. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  const timeout = new AbortController()
  await Promise.race([p, sleep(ms, timeout.signal).catch(() => undefined)])
  timeout.abort()
}
/** For logs: the URL's host only (a path or query may carry the receiver's own token). */
function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return '(invalid)'
  }
}

export function createWebhooks(deps: WebhooksDeps) {
  const { config, logger } = deps
  const now = deps.clock ?? Date.now
  const replicaId = deps.replicaId ?? randomUUID()
  const policy = createHostPolicy(config.allowedHosts)
  const signer = config.secret === undefined ? undefined : new Webhook(config.secret)
  const sender = deps.sender ?? createWebhookSender({ timeoutMs: config.timeoutMs, lookup: policy.lookup })
  const docs = createWebhookDocStore({ store: deps.store, storage: deps.storage, callTimeoutMs: STORE_CALL_TIMEOUT_MS })
  const events = deps.events ?? {}
  /** The jobs this replica is working on now, so that a sweep and jobEnded do not both read and claim one. */
  const inFlight = new Map<string, Promise<void>>()
  const shutdown = new AbortController()
  let stopped = false
  let lastPending = 0

  function checkUrl(raw: string): string {
    const r = policy.check(raw)
    if (r.reason !== undefined) throw errors.webhookNotAllowed(r.reason)
    return r.url.href
  }

  async function register(jobId: string, url: string, signal?: AbortSignal): Promise<void> {
    const at = now()
    const doc: WebhookDoc = {
      version: 1,
      jobId,
      url: checkUrl(url),
      webhookId: `msg_${jobId}`,
      createdAt: iso(at),
      state: 'waiting',
      attempts: 0,
      nextAttemptAt: iso(at + config.sweepIntervalMs),
      checkIntervalMs: config.sweepIntervalMs,
    }
    // If-None-Match: a job has one delivery. A failed condition means one is there already: normally
    // this write's own first try, landed before an SDK retry.
    if ((await docs.write(doc, { ifNoneMatch: '*' }, signal)) === undefined) logger.warn({ jobId }, 'webhook document already present')
    try {
      await docs.mark(jobId, signal)
    } catch (err) {
      // Without its marker no sweep would find the document: take it back and tell the caller, which
      // then does not start the job.
      await docs.remove(jobId)
      throw err
    }
  }

  /** Runs `work` unless this replica is already working on the job. Never rejects. */
  function exclusive(jobId: string, work: () => Promise<void>): Promise<void> {
    if (inFlight.has(jobId)) return Promise.resolve()
    const p = work()
      .catch((err: unknown) => logger.warn({ jobId, err: describeError(err) }, 'webhook delivery step failed; the next sweep retries it'))
      .finally(() => inFlight.delete(jobId))
    inFlight.set(jobId, p)
    return p
  }

  /** deps.checkJob under a deadline, aborted at shutdown too (the listener is removed afterwards: shutdown lives long). */
  async function checkJob(jobId: string): Promise<JobView | undefined> {
    const d = deadline(CHECK_TIMEOUT_MS)
    const stop = new AbortController()
    const onShutdown = () => stop.abort(shutdown.signal.reason)
    shutdown.signal.addEventListener('abort', onShutdown, { once: true })
    d.signal.addEventListener('abort', () => stop.abort(d.signal.reason), { once: true })
    try {
      return await deps.checkJob(jobId, stop.signal)
    } finally {
      d.clear()
      shutdown.signal.removeEventListener('abort', onShutdown)
    }
  }

  const leased = (doc: WebhookDoc) => doc.lease !== undefined && Date.parse(doc.lease.until) > now()

  /** The job still runs (or its record is not written yet): look again later. */
  async function postpone(doc: WebhookDoc, etag: string): Promise<void> {
    const interval = nextCheckIntervalMs(doc.checkIntervalMs ?? config.sweepIntervalMs, deps.maxPollIntervalMs)
    const { lease: _lease, ...rest } = doc
    await docs.write({ ...rest, checkIntervalMs: interval, nextAttemptAt: iso(now() + interval) }, { ifMatch: etag })
  }

  /** One sweep's look at one pending delivery. */
  async function visit(jobId: string): Promise<void> {
    const got = await docs.read(jobId)
    // Delivered or removed, and its marker left behind by a crash between the two deletes.
    if (got === undefined) return docs.unmark(jobId)
    if ('corrupt' in got) {
      logger.error({ jobId }, 'webhook document unreadable; delivery abandoned (the document is kept)')
      events.failed?.()
      return docs.unmark(jobId)
    }
    const { doc, etag } = got
    if (doc.state === 'failed') return docs.unmark(jobId)
    if (leased(doc) || Date.parse(doc.nextAttemptAt) > now()) return
    const view = await checkJob(jobId)
    if (view === undefined) {
      // After an attempt, no record means the job was deleted; before, a job that was never started.
      if (doc.attempts > 0 || now() - Date.parse(doc.createdAt) > ORPHAN_AFTER_MS) {
        logger.info({ jobId }, 'webhook dropped: the job has no record')
        return docs.remove(jobId)
      }
      return postpone(doc, etag)
    }
    if (!TERMINAL.has(view.status)) return postpone(doc, etag)
    await attempt(doc, etag, view)
  }

  /** Claims the delivery, makes one attempt and records its outcome. */
  async function attempt(doc: WebhookDoc, etag: string, view: JobView): Promise<void> {
    const startedAt = now()
    const token = randomUUID()
    const lease = { owner: replicaId, token, until: iso(startedAt + config.timeoutMs + LEASE_MARGIN_MS) }
    let current = await docs.write({ ...doc, lease }, { ifMatch: etag })
    if (current === undefined) {
      // Another replica moved it first, unless this was our own claim landing before an SDK retry.
      const again = await docs.read(doc.jobId)
      if (again === undefined || 'corrupt' in again || again.doc.lease?.token !== token) return
      current = again.etag
    }
    const firstAttemptAt = doc.firstAttemptAt ?? iso(startedAt)
    const target = policy.check(doc.url)
    // The URL checked again: allowedHosts may have changed since the job named it; no retry fixes that.
    const permanent = target.reason !== undefined || signer === undefined
    let result: SendResult
    if (target.reason !== undefined) result = { outcome: 'refused', error: target.reason }
    else if (signer === undefined) result = { outcome: 'refused', error: 'no signing secret configured' }
    else {
      const m = signedMessage(signer, { webhookId: doc.webhookId, view, firstAttemptAt, sentAt: new Date(now()) })
      result = await sender.send(target.url, m.headers, m.payload, shutdown.signal)
    }
    const log = { jobId: doc.jobId, host: hostOf(doc.url), attempt: doc.attempts + 1, status: result.status, outcome: result.outcome }
    if (shutdown.signal.aborted) {
      // Shutting down mid-attempt: its outcome is unknown; the lease lapses and another replica tries again.
      logger.warn(log, 'webhook attempt abandoned at shutdown')
      return
    }
    events.attempt?.(result.outcome)
    if (result.outcome === 'delivered') {
      logger.info(log, 'webhook delivered')
      await docs.remove(doc.jobId)
      events.delivered?.(now() - Date.parse(firstAttemptAt))
      return
    }
    const attempts = doc.attempts + 1
    const next = permanent
      ? undefined
      : nextAttemptAt({
          now: now(),
          firstAttemptAt: Date.parse(firstAttemptAt),
          failedAttempts: attempts,
          retryForMs: config.retryForMs,
          delays: deps.retryDelaysMs ?? RETRY_DELAYS_MS,
          ...(deps.random ? { random: deps.random } : {}),
        })
    const updated = afterFailedAttempt(doc, { firstAttemptAt, nextAttemptAt: next, now: now(), error: result.error, status: result.status })
    if ((await docs.write(updated, { ifMatch: current })) === undefined) {
      logger.warn(log, 'webhook delivery moved on by another replica; this outcome is not recorded')
      return
    }
    if (next === undefined) {
      logger.warn({ ...log, error: result.error }, 'webhook delivery failed; no more retries')
      events.failed?.()
      await docs.unmark(doc.jobId)
    } else {
      logger.info({ ...log, error: result.error, nextAttemptAt: updated.nextAttemptAt }, 'webhook attempt failed; will retry')
    }
  }

  /**
   * This replica saw the job end: its delivery is attempted now rather than at the next sweep. Costs
   * one S3 read when the job has no webhook. Fire and forget: failures are logged, and the sweep
   * carries the delivery on.
   */
  function jobEnded(view: JobView): void {
    if (stopped || !TERMINAL.has(view.status)) return
    void exclusive(view.id, async () => {
      const got = await docs.read(view.id)
      if (got === undefined || 'corrupt' in got) return
      const { doc, etag } = got
      if (doc.state === 'failed' || leased(doc)) return
      // A delivery already retrying keeps its schedule.
      if (doc.state === 'retrying' && Date.parse(doc.nextAttemptAt) > now()) return
      await attempt(doc, etag, view)
    })
  }

  async function sweep(): Promise<void> {
    const ids = await docs.pendingIds(MAX_LISTED)
    lastPending = ids.length
    events.pending?.(ids.length)
    let next = 0
    const worker = async () => {
      while (next < ids.length && !stopped) {
        const id = ids[next++]!
        await exclusive(id, () => visit(id))
      }
    }
    await Promise.all(Array.from({ length: SWEEP_CONCURRENCY }, worker))
  }

  const sweeper = createPeriodic(sweep, config.sweepIntervalMs, (err) => logger.warn({ err: describeError(err) }, 'webhook sweep failed'))

  return {
    checkUrl,
    register,
    jobEnded,
    /** The job is deleted: its delivery goes with it. */
    remove: (jobId: string): Promise<void> => docs.remove(jobId),
    /** Starts sweeping, the first sweep at once (deliveries a previous process left). */
    start: (): void => sweeper.start(),
    /**
     * Stops sweeping and waits up to `waitMs` for attempts under way; then aborts them (their leases
     * lapse and another replica retries them) and closes the sender's sockets.
     */
    async stop(waitMs = config.timeoutMs + 5_000): Promise<void> {
      stopped = true
      sweeper.stop()
      const settled = () => Promise.allSettled([sweeper.running(), ...inFlight.values()])
      await within(settled(), waitMs)
      shutdown.abort()
      await within(settled(), 1_000)
      sender.close()
    },
    pending: (): number => lastPending,
  }
}

export type Webhooks = ReturnType<typeof createWebhooks>
