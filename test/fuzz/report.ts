/** The fuzz run's summary, and failures grouped by kind, each with what replays it. */
import type { Failure, FuzzResult } from './harness.js'

/** A case as JSON, long strings clipped (the seed and path replay the exact bytes). */
export function describeCase(c: unknown): string {
  return JSON.stringify(c, (_key, v: unknown) => (typeof v === 'string' && v.length > 300 ? `${v.slice(0, 120)}…[${v.length} chars]` : v))
}

export function describeFailure(f: Failure): string {
  const replay = f.path.startsWith('regression') ? `${f.path} (regressions.ts, sent by every run)` : `npm run fuzz -- --seed ${f.seed} --path ${f.path}`
  return `${f.failures.join('; ')}\n      replay: ${replay}\n      case: ${describeCase(f.case)}`
}

/** The kind of a failure: its message without the details (body, byte counts, times). */
export const kindOf = (message: string): string =>
  message.includes('application/problem+json (')
    ? `${message.split(', body ')[0]})`
    : message
        .split(' (')[0]!
        .replace(/: ".*$/, '')
        .replace(/\d+ bytes/, 'N bytes')
        .replace(/\d+ ms/, 'N ms')

const table = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `    ${String(n).padStart(7)}  ${k}`)
    .join('\n')

/** Failures by kind, with up to `examples` reproductions each. */
export function groupFailures(failures: Failure[], examples = 3): string {
  const groups = new Map<string, Failure[]>()
  for (const f of failures) {
    const kind = kindOf(f.failures[0]!)
    groups.set(kind, [...(groups.get(kind) ?? []), f])
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([kind, fs]) => `  * ${kind}: ${fs.length} requests\n${fs.slice(0, examples).map((f) => `    - ${describeFailure(f)}`).join('\n')}`)
    .join('\n')
}

export function formatResult(r: FuzzResult): string {
  const failed = r.failures.length + r.after.length
  return [
    `fuzz: ${r.requests} requests in ${(r.durationMs / 1000).toFixed(1)} s, seeds ${r.seeds.join(', ')}`,
    `  answers by status class:\n${table(r.statusClasses)}`,
    `  outcomes (first answer: status and problem code):\n${table(r.outcomes)}`,
    `  requests by generator:\n${table(r.families)}`,
    `  connections closed by the server: ${r.serverClosed} (resets ${r.resets}); hangs: ${r.hangs}; slowest answer ${r.slowestMs} ms`,
    `  jobs accepted: ${r.accepted}`,
    failed === 0
      ? '  properties: all held'
      : [
          `  FAILURES: ${r.failures.length} requests, ${r.after.length} after-run checks`,
          groupFailures(r.failures),
          ...r.after.map((a) => `  * after the run: ${a}`),
        ].join('\n'),
  ].join('\n')
}
