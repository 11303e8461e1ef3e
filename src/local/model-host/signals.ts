// Waiting on handler code and on the socket without outliving the invocation: everything an
// invocation awaits gives up as soon as its signal aborts (client gone, timeout).
import { once } from 'node:events'
import type { ServerResponse } from 'node:http'

/** Resolves or rejects with `work`, or rejects as soon as `signal` aborts (a handler may ignore it). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Waits for the response to drain (backpressure); rejects with the abort reason if it aborts first. */
export async function drained(response: ServerResponse, signal: AbortSignal): Promise<void> {
  try {
    await once(response, 'drain', { signal })
  } catch (err) {
    throw signal.aborted ? signal.reason : err
  }
}
