import type { Logger } from 'pino'
import { describeError } from '../lib/describe-error.js'
import type { JobView } from './job-record.js'

/**
 * Waiting for jobs without every client polling S3: one watcher per job, however many requests wait
 * on it (long-polls, SSE streams), checks the job's outcome on S3 at doubling intervals (from
 * minPollIntervalMs up to maxPollIntervalMs) and tells every listener when the status changes. An SNS
 * notification (`wake`) makes it check at once. A watcher lives only while someone listens; the job's
 * status stays derived from S3, so nothing here needs to survive a restart.
 */
export interface JobWatchDeps {
  /** The job's current view (its record and outcome on S3), whoever owns it; undefined when it is gone. */
  check: (id: string, signal: AbortSignal) => Promise<JobView | undefined>
  minPollIntervalMs: number
  maxPollIntervalMs: number
  logger: Logger
  /** This replica saw the job end (webhooks, metrics): once per watcher or wake that saw it. */
  onEnded?: (view: JobView) => void
  /** The number of listeners changed (metrics). */
  onListeners?: (n: number) => void
}

export type Listener = (view: JobView | undefined) => void

interface Watcher {
  listeners: Set<Listener>
  latest: JobView
  intervalMs: number
  timer: NodeJS.Timeout | undefined
  checking: Promise<void> | undefined
  stop: AbortController
}

export const isTerminal = (view: JobView): boolean => view.status !== 'in_progress'

export function createJobWatch(deps: JobWatchDeps) {
  const watchers = new Map<string, Watcher>()
  let listenerCount = 0
  let closed = false
  const counted = (delta: number) => {
    listenerCount += delta
    deps.onListeners?.(listenerCount)
  }

  function schedule(id: string, w: Watcher): void {
    clearTimeout(w.timer)
    w.timer = setTimeout(() => void checkNow(id, w), w.intervalMs)
    w.timer.unref()
  }

  /** Ends the watcher: every listener gets `view` (the last known state, or undefined when the job is gone). */
  function finish(id: string, w: Watcher, view: JobView | undefined): void {
    clearTimeout(w.timer)
    w.stop.abort()
    watchers.delete(id)
    const listeners = [...w.listeners]
    w.listeners.clear()
    counted(-listeners.length)
    for (const l of listeners) l(view)
  }

  function checkNow(id: string, w: Watcher): Promise<void> {
    if (w.checking !== undefined) return w.checking
    clearTimeout(w.timer)
    w.checking = (async () => {
      // A signal of this check's own: the deadline inside `check` listens to it, and a watcher that
      // lives for hours must not collect one listener per check on its long-lived stop signal.
      const one = new AbortController()
      const stopOne = () => one.abort()
      w.stop.signal.addEventListener('abort', stopOne, { once: true })
      try {
        const view = await deps.check(id, one.signal).finally(() => w.stop.signal.removeEventListener('abort', stopOne))
        if (watchers.get(id) !== w) return
        if (view === undefined) return finish(id, w, undefined)
        const changed = view.status !== w.latest.status
        w.latest = view
        if (isTerminal(view)) {
          deps.onEnded?.(view)
          return finish(id, w, view)
        }
        if (changed) for (const l of w.listeners) l(view)
      } catch (err) {
        // S3 slow or failing: the listeners keep the last known state and the watcher backs off.
        if (!w.stop.signal.aborted) deps.logger.debug({ jobId: id, error: describeError(err) }, 'job check failed; will retry')
      } finally {
        w.checking = undefined
      }
      if (watchers.get(id) === w) {
        w.intervalMs = Math.min(w.intervalMs * 2, deps.maxPollIntervalMs)
        schedule(id, w)
      }
    })()
    return w.checking
  }

  /**
   * Listens for changes of a job whose current view the caller has just read (tenancy checked):
   * `listener` gets each new state, then the terminal one (or undefined when the job is gone, or the
   * last known state when the watch closes), after which it is dropped. Returns the unsubscribe.
   */
  function subscribe(current: JobView, listener: Listener): () => void {
    if (closed || isTerminal(current)) {
      queueMicrotask(() => listener(current))
      return () => {}
    }
    let w = watchers.get(current.id)
    if (w === undefined) {
      w = { listeners: new Set(), latest: current, intervalMs: deps.minPollIntervalMs, timer: undefined, checking: undefined, stop: new AbortController() }
      watchers.set(current.id, w)
      schedule(current.id, w)
    }
    const watcher = w
    watcher.listeners.add(listener)
    counted(1)
    return () => {
      if (!watcher.listeners.delete(listener)) return
      counted(-1)
      // Nobody listens any more: stop checking S3 for this job.
      if (watcher.listeners.size === 0 && watchers.get(current.id) === watcher) {
        clearTimeout(watcher.timer)
        watcher.stop.abort()
        watchers.delete(current.id)
      }
    }
  }

  /**
   * Resolves with the job's view as soon as it leaves `in_progress`, or with the last known state
   * after `timeoutMs`, when `signal` fires (the client left) or the watch closes (drain).
   */
  function wait(current: JobView, timeoutMs: number, signal?: AbortSignal): Promise<JobView | undefined> {
    if (isTerminal(current) || timeoutMs <= 0 || closed) return Promise.resolve(current)
    return new Promise((resolve) => {
      let latest: JobView | undefined = current
      const done = (view: JobView | undefined) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        unsubscribe()
        resolve(view)
      }
      const onAbort = () => done(latest)
      const unsubscribe = subscribe(current, (view) => {
        latest = view
        if (view === undefined || isTerminal(view) || closed) done(view)
      })
      const timer = setTimeout(() => done(watchers.get(current.id)?.latest ?? latest), timeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * The job may have changed (an SNS notification, a DELETE on this replica): check it now. With no
   * watcher, one check still runs, so that a job that ended reaches onEnded (webhooks) at once.
   */
  async function wake(id: string): Promise<JobView | undefined> {
    const w = watchers.get(id)
    if (w !== undefined) {
      w.intervalMs = deps.minPollIntervalMs
      await checkNow(id, w)
      return watchers.get(id)?.latest ?? w.latest
    }
    const view = await deps.check(id, AbortSignal.timeout(deps.maxPollIntervalMs * 4))
    if (view !== undefined && isTerminal(view)) deps.onEnded?.(view)
    return view
  }

  /** Tells the listeners of a job a state this replica just set itself (canceled, or undefined: deleted), and ends them. */
  function settle(id: string, view: JobView | undefined): void {
    const w = watchers.get(id)
    if (w !== undefined) finish(id, w, view)
  }

  /** Drain: every listener gets the job's last known state now, and nothing is watched any more. */
  function close(): void {
    closed = true
    for (const [id, w] of [...watchers]) finish(id, w, w.latest)
  }

  return { subscribe, wait, wake, settle, close, watched: () => watchers.size, listeners: () => listenerCount }
}

export type JobWatch = ReturnType<typeof createJobWatch>
