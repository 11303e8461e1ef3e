/**
 * Deadlines for outbound calls. A deadline is an AbortSignal that fires after `ms` or when `parent`
 * (the client going away) fires, whichever is first; its reason tells which, so an adapter can answer
 * 504 for a deadline and stay silent for a client that left.
 */
export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`deadline of ${ms} ms exceeded`)
    this.name = 'DeadlineExceeded'
  }
}

export const isDeadlineExceeded = (reason: unknown): reason is DeadlineExceeded => reason instanceof DeadlineExceeded

export interface Deadline {
  signal: AbortSignal
  /** Stops the clock (for example once a streamed body has started); `parent` still propagates. */
  clear(): void
}

export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new DeadlineExceeded(ms)), ms)
  timer.unref()
  if (parent !== undefined) {
    const onAbort = () => {
      clearTimeout(timer)
      controller.abort(parent.reason)
    }
    if (parent.aborted) onAbort()
    else {
      parent.addEventListener('abort', onAbort, { once: true })
      // Do not keep the parent's listener once this deadline has fired on its own.
      controller.signal.addEventListener('abort', () => parent.removeEventListener('abort', onAbort), { once: true })
    }
  }
  return { signal: controller.signal, clear: () => clearTimeout(timer) }
}
