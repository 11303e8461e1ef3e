/**
 * The progress line on stderr while a level runs: requests done, the TPS since the last line, errors.
 * Rewritten in place on a terminal; elsewhere (CI logs, a file) a line every few seconds.
 */
import type { Counters } from './loop.js'

export interface Progress {
  /** A level starts; `counters` are read until end(). */
  begin(label: string, counters: Counters): void
  end(): void
}

export interface ProgressStream {
  write(text: string): unknown
  isTTY?: boolean
}

export const silentProgress: Progress = { begin: () => undefined, end: () => undefined }

export function createProgress(stream: ProgressStream, o: { ttyIntervalMs?: number; lineIntervalMs?: number } = {}): Progress {
  const tty = stream.isTTY === true
  const intervalMs = tty ? (o.ttyIntervalMs ?? 250) : (o.lineIntervalMs ?? 5000)
  let timer: NodeJS.Timeout | undefined
  let line = (_final?: boolean): string => ''
  return {
    begin(label, counters) {
      const started = performance.now()
      let last = { at: started, done: 0 }
      // The rate since the last line, or over the whole level for the last one.
      line = (final = false) => {
        const now = performance.now()
        const since = final ? { at: started, done: 0 } : last
        const rate = ((counters.done - since.done) * 1000) / Math.max(1, now - since.at)
        last = { at: now, done: counters.done }
        const ended = counters.ended !== undefined ? `, ${counters.ended} ended` : ''
        return `${label}: ${counters.done} done, ${rate.toFixed(1)}/s, ${counters.errors} errors${ended}, ${((now - started) / 1000).toFixed(0)} s`
      }
      timer = setInterval(() => stream.write(tty ? `\r\x1b[K${line()}` : `${line()}\n`), intervalMs)
      // The display alone never keeps the process alive.
      timer.unref()
    },
    end() {
      clearInterval(timer)
      timer = undefined
      // A terminal's line is cleared so that the tables start on a clean one; a log gets the last count.
      stream.write(tty ? '\r\x1b[K' : `${line(true)}\n`)
    },
  }
}
