import type { Logger } from 'pino'

/**
 * Removing what a failed upload left (an open multipart upload, an input object) must not depend on
 * the dependency that just failed answering at once. A cleanup is tried now, within a deadline; if it
 * fails it is retried in the background with backoff until it succeeds, the queue gives up on it
 * (logged as an error), or the process stops. What a killed process could not remove is left to the
 * bucket's lifecycle rules (README: AbortIncompleteMultipartUpload).
 */
export interface CleanupTask {
  /** For logs: what is being removed. */
  what: Record<string, unknown>
  run(signal: AbortSignal): Promise<void>
}

export interface CleanupQueueOptions {
  logger: Logger
  /** Each attempt is aborted after this long. */
  attemptTimeoutMs: number
  /** A task still failing after this long is given up. Default one hour. */
  giveUpAfterMs?: number
  /** Called whenever the number of pending tasks changes (metrics). */
  onPending?: (pending: number) => void
}

export interface CleanupQueue {
  /** Tries `task` now; true if it succeeded, false if it now retries in the background. Never rejects. */
  run(task: CleanupTask): Promise<boolean>
  /** Runs in the background only, first after `delayMs` (default 1 s): for when the dependency is failing now. */
  defer(task: CleanupTask, delayMs?: number): void
  readonly pending: number
  /** Retries every pending task at once and waits up to `ms`; resolves with how many remain. */
  flush(ms: number): Promise<number>
  close(): void
}

const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 60_000

interface Pending {
  task: CleanupTask
  since: number
  attempts: number
  timer: NodeJS.Timeout | undefined
  running: Promise<boolean> | undefined
}

export function createCleanupQueue(o: CleanupQueueOptions): CleanupQueue {
  const giveUpAfterMs = o.giveUpAfterMs ?? 3_600_000
  const pending = new Set<Pending>()
  let closed = false
  const changed = () => o.onPending?.(pending.size)

  async function attempt(task: CleanupTask): Promise<unknown> {
    try {
      await task.run(AbortSignal.timeout(o.attemptTimeoutMs))
      return undefined
    } catch (err) {
      return err ?? new Error('cleanup failed')
    }
  }

  function schedule(p: Pending, delayMs: number): void {
    if (closed) return
    p.timer = setTimeout(() => void retry(p), delayMs)
    p.timer.unref()
  }

  function retry(p: Pending): Promise<boolean> {
    if (p.timer !== undefined) clearTimeout(p.timer)
    p.timer = undefined
    p.running ??= (async () => {
      p.attempts++
      const err = await attempt(p.task)
      p.running = undefined
      if (err === undefined) {
        pending.delete(p)
        changed()
        o.logger.info({ ...p.task.what, attempts: p.attempts }, 'cleanup done after retries')
        return true
      }
      if (Date.now() - p.since > giveUpAfterMs) {
        pending.delete(p)
        changed()
        o.logger.error({ err, ...p.task.what, attempts: p.attempts }, 'cleanup given up; the bucket lifecycle rule must remove it')
        return false
      }
      schedule(p, Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (p.attempts - 1)))
      return false
    })()
    return p.running
  }

  function enqueue(task: CleanupTask, attempts: number, err: unknown, delayMs = FIRST_RETRY_MS): void {
    if (closed) {
      o.logger.error({ err, ...task.what }, 'cleanup failed while stopping; the bucket lifecycle rule must remove it')
      return
    }
    const p: Pending = { task, since: Date.now(), attempts, timer: undefined, running: undefined }
    pending.add(p)
    changed()
    if (err === undefined) o.logger.info({ ...task.what, delayMs }, 'cleanup deferred')
    else o.logger.warn({ err, ...task.what }, 'cleanup failed; retrying in the background')
    schedule(p, delayMs)
  }

  return {
    async run(task) {
      const err = await attempt(task)
      if (err === undefined) return true
      enqueue(task, 1, err)
      return false
    },
    defer(task, delayMs) {
      enqueue(task, 0, undefined, delayMs)
    },
    get pending() {
      return pending.size
    },
    async flush(ms) {
      if (pending.size === 0) return 0
      const all = Promise.all([...pending].map((p) => retry(p)))
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, ms).unref())])
      return pending.size
    },
    close() {
      closed = true
      for (const p of pending) {
        if (p.timer !== undefined) clearTimeout(p.timer)
        o.logger.error({ ...p.task.what }, 'cleanup still pending at shutdown; the bucket lifecycle rule must remove it')
      }
      pending.clear()
      changed()
    },
  }
}
