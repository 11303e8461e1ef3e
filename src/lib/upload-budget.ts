/**
 * The memory all streamed uploads together may hold in part buffers (upload.maxBufferedBytes). An
 * upload reserves the room for a whole part (or for all of a body smaller than a part) before it fills
 * it, so every upload holding a reservation can always complete the part it fills: reserving by the
 * chunk could leave every upload with a part it can never finish. An upload that cannot reserve waits
 * (first come, first served), and its client meets TCP backpressure.
 */
export interface UploadBudget {
  readonly maxBytes: number
  readonly partSizeBytes: number
  /** Bytes reserved by uploads now. */
  readonly heldBytes: number
  /** Uploads waiting for room now. */
  readonly waiting: number
  tryAcquire(bytes: number): boolean
  /** Resolves once `bytes` are this caller's; rejects with the signal's reason if it fires first. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void>
  release(bytes: number): void
}

export interface UploadBudgetOptions {
  maxBufferedBytes: number
  partSizeBytes: number
  /** Told when the bytes held or the number waiting change (metrics). */
  onChange?: (heldBytes: number, waiting: number) => void
  /** Told each time an upload has to wait (metrics). */
  onWait?: () => void
}

export function createUploadBudget(o: UploadBudgetOptions): UploadBudget {
  // At least one whole part, or no upload could ever fill one.
  const maxBytes = Math.max(o.maxBufferedBytes, o.partSizeBytes)
  let held = 0
  const waiters: Array<{ bytes: number; grant: () => void }> = []
  const changed = () => o.onChange?.(held, waiters.length)
  const fits = (bytes: number) => held + bytes <= maxBytes
  return {
    maxBytes,
    partSizeBytes: o.partSizeBytes,
    get heldBytes() {
      return held
    },
    get waiting() {
      return waiters.length
    },
    tryAcquire(bytes) {
      // A waiter is not overtaken by a later caller.
      if (waiters.length > 0 || !fits(bytes)) return false
      held += bytes
      changed()
      return true
    },
    acquire(bytes, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason)
      if (waiters.length === 0 && fits(bytes)) {
        held += bytes
        changed()
        return Promise.resolve()
      }
      o.onWait?.()
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          bytes,
          grant: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
        }
        const onAbort = () => {
          const i = waiters.indexOf(waiter)
          if (i >= 0) waiters.splice(i, 1)
          changed()
          reject(signal!.reason)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        waiters.push(waiter)
        changed()
      })
    },
    release(bytes) {
      held -= bytes
      // Released room goes straight to the waiters at the head of the line, in order.
      while (waiters.length > 0 && fits(waiters[0]!.bytes)) {
        const next = waiters.shift()!
        held += next.bytes
        next.grant()
      }
      changed()
    },
  }
}
