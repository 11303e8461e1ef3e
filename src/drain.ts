import type { FastifyInstance } from 'fastify'
import { errors } from './errors.js'

/**
 * Graceful drain (SIGTERM on every deploy and scale-in), in the order Kubernetes expects of a pod:
 * 1. at once: /readyz answers 503, new uploads get 503 `shutting_down` with Retry-After, every
 *    other answer carries `Connection: close`;
 * 2. uploads in flight may finish until `timeoutMs`; past it they are stopped (503), which aborts
 *    their multipart uploads, and get up to ABORT_GRACE_MS for that cleanup;
 * 3. the listener closes and the other requests in flight (predicts, reads) finish within what is
 *    left of `timeoutMs`, after which their connections are cut;
 * 4. app.close() runs the onClose hooks (pending S3 cleanups get one more try, clients close).
 * Plan the orchestrator's grace period as timeoutMs + ABORT_GRACE_MS + the cleanup flush (5 s).
 */
export const ABORT_GRACE_MS = 10_000

export async function drain(app: FastifyInstance, timeoutMs: number): Promise<void> {
  const { lifecycle, log } = app
  const started = Date.now()
  lifecycle.startDrain()
  log.info({ uploads: lifecycle.activeUploads, timeoutMs }, 'draining')
  if (!(await within(lifecycle.uploadsIdle(), timeoutMs))) {
    log.warn({ uploads: lifecycle.activeUploads }, 'drain deadline passed: stopping the uploads still running')
    lifecycle.abortUploads(errors.shuttingDown())
    if (!(await within(lifecycle.uploadsIdle(), ABORT_GRACE_MS))) log.error({ uploads: lifecycle.activeUploads }, 'uploads did not stop in time')
  }
  const closing = app.close()
  if (!(await within(closing, Math.max(0, timeoutMs - (Date.now() - started))))) {
    log.warn('drain deadline passed: closing the connections still open')
    app.server.closeAllConnections()
    await closing
  }
  log.info({ ms: Date.now() - started }, 'drained')
}

/** True if `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}
