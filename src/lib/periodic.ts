/**
 * A task run every `intervalMs`, the first run at once; a run never overlaps the previous one (the
 * next is scheduled when it ends), and the timer does not keep the process alive.
 */
export function createPeriodic(run: () => Promise<void>, intervalMs: number, onError: (err: unknown) => void) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      running = run()
        .catch(onError)
        .finally(() => {
          running = undefined
          if (!stopped) schedule(intervalMs)
        })
    }, delayMs)
    timer.unref()
  }

  return {
    start(): void {
      if (timer === undefined && !stopped) schedule(0)
    },
    /** No run starts after this; the one under way, if any, is `running()`. */
    stop(): void {
      stopped = true
      clearTimeout(timer)
    },
    running: (): Promise<void> | undefined => running,
  }
}
