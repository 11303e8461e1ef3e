/**
 * When a failed webhook delivery is tried again: Svix's schedule (the Standard Webhooks authors'),
 * 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h, each with ±10% jitter so that the deliveries a
 * receiver's outage failed together do not all come back at the same instant; retries stop
 * `retryForMs` after the first attempt.
 */
export const RETRY_DELAYS_MS: readonly number[] = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 10 * 3_600_000]

const JITTER = 0.1

/** The wait after the `failedAttempts`-th failed attempt (1 = the first); the last delay repeats. */
export function retryDelayMs(failedAttempts: number, delays: readonly number[] = RETRY_DELAYS_MS, random: () => number = Math.random): number {
  const base = delays[Math.min(Math.max(failedAttempts, 1), delays.length) - 1] ?? 0
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()))
}

/**
 * The instant of the next attempt after a failed one, or undefined when retries are over. The last
 * attempt is made at the end of the retry window rather than skipped when its delay overshoots it.
 */
export function nextAttemptAt(o: {
  now: number
  firstAttemptAt: number
  failedAttempts: number
  retryForMs: number
  delays?: readonly number[]
  random?: () => number
}): number | undefined {
  const end = o.firstAttemptAt + o.retryForMs
  if (o.now >= end) return undefined
  return Math.min(o.now + retryDelayMs(o.failedAttempts, o.delays, o.random), end)
}

/** While the job runs its delivery is looked at again after a doubling interval, capped (waits.maxPollIntervalMs). */
export const nextCheckIntervalMs = (previousMs: number, maxMs: number): number => Math.min(maxMs, Math.max(1, previousMs) * 2)
