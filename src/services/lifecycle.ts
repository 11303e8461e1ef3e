import { errors } from '../errors.js'

/**
 * The gateway's own state: how many uploads it is receiving (capped: each holds up to
 * queueSize × partSize of memory and S3 sockets), and whether it is draining (SIGTERM). Knows nothing
 * of Fastify; the routes ask it for a place before reading any byte of an upload.
 */
export interface UploadLease {
  /** Aborted, with the reason as an AppError, when the drain deadline passes. */
  readonly signal: AbortSignal
  release(): void
}

export interface Lifecycle {
  readonly draining: boolean
  readonly activeUploads: number
  /** A place for one more upload; throws 503 `too_many_uploads` or `shutting_down` when there is none. */
  acquireUpload(): UploadLease
  /** Not ready from now on; new uploads are refused. */
  startDrain(): void
  /** Stops every running upload with `reason` (their multipart uploads are aborted by the upload path). */
  abortUploads(reason: Error): void
  /** Resolves once no upload is running. */
  uploadsIdle(): Promise<void>
}

export interface LifecycleOptions {
  maxConcurrentUploads: number
  /** Told about every change of the number of running uploads (metrics). */
  onUploads?: (active: number) => void
  /** Told when an upload is refused (metrics). */
  onRefused?: (reason: 'capacity' | 'draining') => void
  /** Told when the drain starts (metrics). */
  onDrain?: () => void
}

export function createLifecycle(o: LifecycleOptions): Lifecycle {
  const running = new Set<AbortController>()
  let draining = false
  let waiters: Array<() => void> = []
  const changed = () => {
    o.onUploads?.(running.size)
    if (running.size === 0) {
      for (const wake of waiters) wake()
      waiters = []
    }
  }
  return {
    get draining() {
      return draining
    },
    get activeUploads() {
      return running.size
    },
    acquireUpload() {
      if (draining) {
        o.onRefused?.('draining')
        throw errors.shuttingDown()
      }
      if (running.size >= o.maxConcurrentUploads) {
        o.onRefused?.('capacity')
        throw errors.tooManyUploads(o.maxConcurrentUploads)
      }
      const controller = new AbortController()
      running.add(controller)
      changed()
      let released = false
      return {
        signal: controller.signal,
        release() {
          if (released) return
          released = true
          running.delete(controller)
          changed()
        },
      }
    },
    startDrain() {
      if (!draining) o.onDrain?.()
      draining = true
    },
    abortUploads(reason) {
      for (const controller of running) controller.abort(reason)
    },
    uploadsIdle() {
      return running.size === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))
    },
  }
}
