/**
 * CPU time per process on this machine (Linux /proc), to show where a benchmark's cycles went: the
 * gateway, the local S3, the runtime, the model host, the load generator. Elsewhere it reports nothing.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

export type CpuSnapshot = Map<number, { ticks: number; command: string }>

export function cpuSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = new Map()
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return out
  }
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      // Fields after the command (in parentheses, which may hold spaces): utime is the 14th, stime the 15th.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ticks = Number(rest[11]) + Number(rest[12])
      const command = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
      out.set(Number(p), { ticks, command })
    } catch {
      // gone meanwhile
    }
  }
  return out
}

/**
 * CPU seconds each process spent between two snapshots, by the name `label` gives it (processes it
 * names undefined are summed as "other"), largest first.
 */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot, label: (pid: number, command: string) => string | undefined): Array<{ name: string; seconds: number }> {
  const by = new Map<string, number>()
  for (const [pid, a] of after) {
    const spent = (a.ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND
    if (spent <= 0) continue
    const name = label(pid, a.command) ?? 'other'
    by.set(name, (by.get(name) ?? 0) + spent)
  }
  return [...by].map(([name, seconds]) => ({ name, seconds })).sort((x, y) => y.seconds - x.seconds)
}

export function formatCpu(spent: Array<{ name: string; seconds: number }>, wallSeconds: number): string {
  return spent
    .filter((s) => s.seconds >= 0.05)
    .map((s) => `${s.name} ${s.seconds.toFixed(1)} s (${((s.seconds / wallSeconds) * 100).toFixed(0)}%)`)
    .join(', ')
}
