/**
 * The README's performance table, made from what `npm run bench` measured (its JSON in
 * test/bench/results/): one row per scenario, the figure, the reference measured in the same run,
 * their ratio or difference, and the target. `npm run bench:readme [file]` writes it into README.md
 * between the markers below (the newest results file when none is named).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { BurstResults } from './burst.js'

export const TABLE_START = '<!-- bench-table:start (npm run bench:readme writes this table) -->'
export const TABLE_END = '<!-- bench-table:end -->'

export interface BenchResults {
  rounds: number
  node: string
  cpus?: number
  uploads?: Array<Record<string, number>>
  realtime?: { rows: Array<Record<string, number | string>> }
  burst?: BurstResults
}

const f = (n: number | undefined, digits = 1): string => (n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }))
const met = (ok: boolean | undefined): string => (ok === undefined ? '' : ok ? ' ✓' : ' ✗')

/** Markdown rows: scenario | measured | reference (same run) | ratio / added | target. */
export function benchTable(r: BenchResults): string {
  const rows: string[][] = []
  for (const u of r.uploads ?? []) {
    const size = u['sizeMiB']! >= 1024 ? `${u['sizeMiB']! / 1024} GiB` : `${u['sizeMiB']} MiB`
    rows.push([
      `\`upload\` ${size}: gateway → S3 vs lib-storage straight to the same S3`,
      `${f(u['gatewayMiBps'])} MiB/s, peak RSS ${f(u['gatewayPeakRssMiB'], 0)} MiB`,
      `${f(u['directMiBps'])} MiB/s`,
      `${f(u['gatewayToDirect'], 2)}×`,
      '',
    ])
  }
  for (const row of r.realtime?.rows ?? []) {
    const added = row['addedP50Ms'] as number
    const limit = row['body'] === '1KiB' || row['body'] === '1 KiB' ? 1.0 : row['body'] === '1MiB' || row['body'] === '1 MiB' ? 2.5 : undefined
    rows.push([
      `\`realtime\` echo ${row['body']}, concurrency 1: gateway vs SDK InvokeEndpoint, p50`,
      `${f(row['gatewayP50Ms'] as number, 2)} ms`,
      `${f(row['directP50Ms'] as number, 2)} ms`,
      `+${f(added, 2)} ms`,
      limit === undefined ? '' : `≤ +${f(limit, 1)} ms${met(added <= limit)}`,
    ])
    const ratio = row['rpsRatio16'] as number
    rows.push([
      `\`realtime\` echo ${row['body']}, concurrency 16: requests/s`,
      `${f(row['gatewayRps16'] as number, 0)}/s`,
      `${f(row['directRps16'] as number, 0)}/s`,
      `${f(ratio, 2)}×`,
      `≥ 0.8×${met(ratio >= 0.8)}`,
    ])
  }
  const b = r.burst
  if (b?.burst !== undefined) {
    const x = b.burst
    const cpu = Object.entries(x.cpuMsPerJob)
      .sort((p, q) => q[1] - p[1])
      .map(([name, ms]) => `${name} ${f(ms, 1)}`)
      .join(', ')
    rows.push([
      `\`burst\` ${f(x.jobs, 0)} small jobs at concurrency ${x.concurrency}: gateway vs the same three SDK calls per job`,
      `${f(x.tps, 0)} accepted/s, p50 ${f(x.p50Ms, 0)} ms, p99 ${f(x.p99Ms, 0)} ms`,
      `${f(x.directTps, 0)}/s, p50 ${f(x.directP50Ms, 0)} ms, p99 ${f(x.directP99Ms, 0)} ms`,
      `${f(x.ratio, 2)}×`,
      `≥ 200/s${met(x.tps >= 200)}, p99 ≤ 400 ms${met(x.p99Ms <= 400)}`,
    ])
    rows.push([
      '`burst`: CPU per accepted job, by process (ms)',
      `${cpu}`,
      '',
      `ceiling ${f(x.cpuCeilingPerSecond, 0)}/s`,
      '',
    ])
  }
  if (b?.polls !== undefined) {
    rows.push([`\`polls\` \`GET /jobs/{id}\` at concurrency ${b.polls.concurrency}, jobs in progress`, `${f(b.polls.inProgressPerSecond, 0)}/s`, '', '', `≥ 1,500/s${met(b.polls.inProgressPerSecond >= 1500)}`])
    rows.push([
      `\`polls\` \`GET /jobs/{id}\` at concurrency ${b.polls.concurrency}, completed jobs, vs a bare Fastify route sending the same text`,
      `${f(b.polls.completedPerSecond, 0)}/s`,
      `${f(b.polls.barePerSecond, 0)}/s`,
      `${f(b.polls.completedToBare, 2)}×`,
      `≥ 10,000/s${met(b.polls.completedPerSecond >= 10_000)}`,
    ])
  }
  if (b?.uploads !== undefined) {
    const u = b.uploads
    const accepted = u.statuses[202] ?? 0
    const mb = u.peakRssMiB * 1.048576
    rows.push([
      `\`uploads\` ${u.count} concurrent ${u.sizeMiB} MiB uploads`,
      `${accepted} of ${u.count} accepted, gateway peak RSS ${f(mb, 0)} MB`,
      '',
      '',
      `all accepted${met(accepted === u.count)}, ≤ 400 MB${met(mb <= 400)}`,
    ])
  }
  const header = ['Scenario', 'Measured', 'Reference, same run', 'Ratio', 'Target']
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [
    `Medians of ${r.rounds} rounds, Node ${r.node}${r.cpus !== undefined ? `, ${r.cpus} cores shared by the gateway, the local stack and the load` : ''}:`,
    '',
    line(header),
    line(header.map(() => '---')),
    ...rows.map(line),
  ].join('\n')
}

/** README.md with the table between the markers replaced. */
export function withTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start < 0 || end < start) throw new Error(`README.md has no ${TABLE_START} … ${TABLE_END} markers`)
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`
}

const root = fileURLToPath(new URL('../../../', import.meta.url)) // dist/test/bench → repo root

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = join(root, 'test/bench/results')
  const file = process.argv[2] ?? join(dir, (await readdir(dir)).filter((n) => /^bench-.*\.json$/.test(n)).sort().at(-1) ?? '')
  const results = JSON.parse(await readFile(file, 'utf8')) as BenchResults
  const readmePath = join(root, 'README.md')
  await writeFile(readmePath, withTable(await readFile(readmePath, 'utf8'), benchTable(results)))
  console.log(`README.md: performance table from ${file}`)
}
