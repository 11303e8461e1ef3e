/**
 * Reachability of the gateway's dependencies (S3, the SageMaker runtime), checked in the background
 * so that /readyz answers at once from the last result and never waits on a slow dependency. The
 * results are details of readiness and metrics, not its verdict (routes/health.ts says why).
 */
export type DependencyState = 'ok' | 'unreachable' | 'unknown'

export interface DependencyMonitorOptions {
  probes: Record<string, (signal: AbortSignal) => Promise<void>>
  intervalMs: number
  timeoutMs: number
  onResult?: (name: string, ok: boolean, seconds: number) => void
  /** A dependency became unreachable (with the error) or reachable again: logged once, not every check. */
  onChange?: (name: string, state: DependencyState, err?: unknown) => void
}

export interface DependencyMonitor {
  snapshot(): Record<string, DependencyState>
  /** Checks every dependency now (each bounded by timeoutMs); concurrent calls share one check. */
  check(): Promise<void>
  /** Starts a check in the background when the last one began more than `maxAgeMs` ago. */
  refreshIfOlderThan(maxAgeMs: number): void
  start(): void
  stop(): void
}

export function createDependencyMonitor(o: DependencyMonitorOptions): DependencyMonitor {
  const states: Record<string, DependencyState> = Object.fromEntries(Object.keys(o.probes).map((name) => [name, 'unknown' as const]))
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let startedAt = Number.NEGATIVE_INFINITY

  async function checkOne(name: string, probe: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const started = performance.now()
    let failure: unknown
    try {
      await probe(AbortSignal.timeout(o.timeoutMs))
    } catch (err) {
      failure = err ?? new Error('unreachable')
    }
    const state = failure === undefined ? 'ok' : 'unreachable'
    if (states[name] !== state && (state === 'unreachable' || states[name] === 'unreachable')) o.onChange?.(name, state, failure)
    states[name] = state
    o.onResult?.(name, state === 'ok', (performance.now() - started) / 1000)
  }

  const check = (): Promise<void> => {
    if (running === undefined) startedAt = performance.now()
    running ??= Promise.all(Object.entries(o.probes).map(([name, probe]) => checkOne(name, probe))).then(() => {
      running = undefined
    })
    return running
  }

  return {
    snapshot: () => ({ ...states }),
    check,
    refreshIfOlderThan(maxAgeMs) {
      if (performance.now() - startedAt > maxAgeMs) void check()
    },
    start() {
      if (timer !== undefined) return
      timer = setInterval(() => void check(), o.intervalMs)
      timer.unref()
    },
    stop() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
  }
}
