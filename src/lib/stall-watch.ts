/**
 * Finds transfers that stopped moving: a client that sends no byte of its body, a client that reads
 * none of its response, a dependency that stops sending a stream. Each watched transfer says how far
 * it has come (`progress`, any monotonic counter) and whether the gateway is waiting on the other side
 * right now (`waiting`): time spent while the gateway itself holds things up (backpressure from S3,
 * a model still thinking) never counts against the peer. One timer serves every watch.
 */
export interface Watched {
  progress(): number
  waiting(): boolean
  timeoutMs: number
  onStall(): void
}

interface Entry {
  w: Watched
  last: number
  since: number
}

export interface StallWatch {
  /** Starts watching; the returned function stops (calling it twice is harmless). */
  watch(w: Watched): () => void
  readonly size: number
  close(): void
}

const MIN_TICK_MS = 20
const MAX_TICK_MS = 1000

export function createStallWatch(now: () => number = Date.now): StallWatch {
  const entries = new Set<Entry>()
  let timer: NodeJS.Timeout | undefined
  let tickMs = MAX_TICK_MS

  function tick(): void {
    const t = now()
    for (const e of entries) {
      const p = e.w.progress()
      if (p !== e.last || !e.w.waiting()) {
        e.last = p
        e.since = t
      } else if (t - e.since >= e.w.timeoutMs) {
        entries.delete(e)
        e.w.onStall()
      }
    }
    if (entries.size === 0) stop()
  }

  function stop(): void {
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
    tickMs = MAX_TICK_MS
  }

  function start(timeoutMs: number): void {
    // A quarter of the shortest timeout: a stall is noticed at most 25% late.
    const wanted = Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, Math.floor(timeoutMs / 4)))
    if (timer !== undefined && wanted >= tickMs) return
    if (timer !== undefined) clearInterval(timer)
    tickMs = wanted
    timer = setInterval(tick, tickMs)
    timer.unref()
  }

  return {
    watch(w) {
      const e: Entry = { w, last: w.progress(), since: now() }
      entries.add(e)
      start(w.timeoutMs)
      return () => {
        entries.delete(e)
        if (entries.size === 0) stop()
      }
    },
    get size() {
      return entries.size
    },
    close() {
      entries.clear()
      stop()
    },
  }
}
