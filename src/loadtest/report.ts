/**
 * What a load test measured, as the JSON document `--json` prints, and the same as tables.
 */
import { compare, costPer1M, countByStatus, distribution, tps, type Comparison } from './stats.js'
import { isSuccess, type LoopResult } from './loop.js'

/** The numbers of one run of the loop (the gateway's, or the direct SDK's). */
export interface Measured {
  /** Requests sent and finished, errors included. */
  requests: number
  seconds: number
  /** Successful answers per second (errors are not throughput). */
  tps: number
  p50Ms: number | null
  p90Ms: number | null
  p99Ms: number | null
  maxMs: number | null
  /** Answers that were not a success, a count... */
  errors: number
  /** ...and by status ("0": no answer). */
  errorsByStatus: Record<string, number>
  costPer1M?: number | null
}

export interface JobsMeasured {
  /** The accept (202) latencies are the level's p50Ms…; these are the same under their own names. */
  acceptP50Ms: number | null
  acceptP90Ms: number | null
  acceptP99Ms: number | null
  /** From a job's 202 to the answer that told it had ended. */
  completionP50Ms: number | null
  completionP90Ms: number | null
  completionP99Ms: number | null
  completionMaxMs: number | null
  /** From the first 202 to the last job's end. */
  drainSeconds: number | null
  /** Jobs that ended per second over the drain time (the cost per 1M of jobs is computed from it). */
  completedPerSecond: number
  completed: number
  failed: number
  expired: number
  canceled: number
  /** Followed jobs whose status could not be read (5 failed reads in a row). */
  lost: number
  /** Jobs still in progress when following them stopped (--follow seconds after their 202). */
  unfinished: number
}

export type Level = Measured &
  Partial<JobsMeasured> & {
    concurrency: number
    direct?: Measured
    /** With --direct: gateway TPS / direct TPS, and the p50 the gateway adds. */
    comparison?: Comparison
  }

export interface Report {
  mode: 'predict' | 'jobs'
  model: string
  url: string
  levels: Level[]
}

/** The numbers of one loop; `expected` are the statuses that count as success. */
export function measure(result: LoopResult, expected: readonly number[], pricePerHour?: number): Measured {
  const ok = result.samples.filter((s) => isSuccess(s.status, expected))
  const failed = result.samples.filter((s) => !isSuccess(s.status, expected))
  const rate = tps(ok.length, result.seconds)
  return {
    requests: result.samples.length,
    seconds: result.seconds,
    tps: rate,
    // Latency of successes only: a fast 503 would make a saturated gateway look quick.
    ...distribution(ok.map((s) => s.latencyMs)),
    errors: failed.length,
    errorsByStatus: countByStatus(failed.map((s) => s.status)),
    ...(pricePerHour !== undefined ? { costPer1M: costPer1M(pricePerHour, rate) } : {}),
  }
}

export const withComparison = (gateway: Measured, direct: Measured): Pick<Level, 'direct' | 'comparison'> => ({
  direct,
  comparison: compare(gateway, direct),
})

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1))
const num = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '-' : v.toFixed(digits))
const errorsText = (m: Measured) =>
  m.errors === 0
    ? '0'
    : `${m.errors} (${Object.entries(m.errorsByStatus)
        .map(([status, n]) => `${status === '0' ? 'network' : status}: ${n}`)
        .join(', ')})`

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd()).join('\n')
}

function predictRows(label: string, m: Measured, priced: boolean): string[] {
  return [label, String(m.requests), num(m.tps), ms(m.p50Ms), ms(m.p90Ms), ms(m.p99Ms), errorsText(m), ...(priced ? [num(m.costPer1M, 3)] : [])]
}

/** The tables for a terminal: one per concurrency level. */
export function formatReport(report: Report, pricePerHour?: number): string {
  const priced = pricePerHour !== undefined
  const out: string[] = [`${report.mode} ${report.model} at ${report.url}${priced ? ` (price ${pricePerHour}/h)` : ''}`]
  for (const level of report.levels) {
    out.push('', `concurrency ${level.concurrency}`)
    const head = ['', 'requests', 'TPS', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', ...(priced ? ['cost/1M'] : [])]
    if (report.mode === 'predict') {
      const rows = [head, predictRows('gateway', level, priced)]
      if (level.direct !== undefined) rows.push(predictRows('direct', level.direct, priced))
      out.push(table(rows))
      if (level.comparison !== undefined)
        out.push(`gateway/direct TPS ${num(level.comparison.tpsRatio, 2)}x, added p50 ${ms(level.comparison.addedP50Ms)} ms`)
      continue
    }
    out.push(
      table([
        ['', 'jobs', 'per s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', ...(priced ? ['cost/1M'] : [])],
        ['accept', String(level.requests), num(level.tps), ms(level.p50Ms), ms(level.p90Ms), ms(level.p99Ms), ms(level.maxMs), errorsText(level), ...(priced ? [''] : [])],
        ['completion', String(level.completed ?? 0), num(level.completedPerSecond), ms(level.completionP50Ms), ms(level.completionP90Ms), ms(level.completionP99Ms), ms(level.completionMaxMs), '', ...(priced ? [num(level.costPer1M, 3)] : [])],
      ]),
      `queue drain ${num(level.drainSeconds, 2)} s; completed ${level.completed ?? 0}, failed ${level.failed ?? 0}, expired ${level.expired ?? 0}, canceled ${level.canceled ?? 0}, lost ${level.lost ?? 0}, unfinished ${level.unfinished ?? 0}`,
    )
  }
  return out.join('\n')
}
