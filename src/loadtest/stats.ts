/**
 * The load test's arithmetic, pure: percentiles, throughput, cost per million inferences and the
 * gateway/direct comparison. Everything here is unit tested on known arrays (test/loadtest/stats.test.ts).
 */

/**
 * Nearest-rank percentile (the smallest value with at least p % of the samples at or below it) of an
 * ascending array; null when there are no samples. No interpolation: every figure reported is a
 * latency that was really measured.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export interface Distribution {
  p50Ms: number | null
  p90Ms: number | null
  p99Ms: number | null
  maxMs: number | null
}

/** p50, p90, p99 and the maximum of unsorted samples (not modified). */
export function distribution(samplesMs: readonly number[]): Distribution {
  const sorted = [...samplesMs].sort((a, b) => a - b)
  return { p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? null }
}

/** Requests per second; 0 when no time has passed (nothing was measured). */
export function tps(requests: number, seconds: number): number {
  return seconds > 0 ? requests / seconds : 0
}

/**
 * What a million inferences cost on an instance billed per hour and kept busy at this throughput:
 * price_per_hour / 3600 / TPS × 10⁶ (1.2 per hour at 50 TPS → 6.67 per million). Null at 0 TPS.
 */
export function costPer1M(pricePerHour: number, requestsPerSecond: number): number | null {
  return requestsPerSecond > 0 ? (pricePerHour / 3600 / requestsPerSecond) * 1e6 : null
}

/** Answers by HTTP status (0: no answer, a network error), as a map with string keys for JSON. */
export function countByStatus(statuses: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of statuses) out[String(s)] = (out[String(s)] ?? 0) + 1
  return out
}

/** The gateway measured against the same load sent straight to SageMaker. */
export interface Comparison {
  /** Gateway TPS / direct TPS (1 = the gateway costs no throughput); null when direct had none. */
  tpsRatio: number | null
  /** Gateway p50 − direct p50: the latency the gateway adds, in ms. */
  addedP50Ms: number | null
}

export function compare(gateway: { tps: number; p50Ms: number | null }, direct: { tps: number; p50Ms: number | null }): Comparison {
  return {
    tpsRatio: direct.tps > 0 ? gateway.tps / direct.tps : null,
    addedP50Ms: gateway.p50Ms !== null && direct.p50Ms !== null ? gateway.p50Ms - direct.p50Ms : null,
  }
}
