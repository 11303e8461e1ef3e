import type { FastifyInstance } from 'fastify'
import { errors } from './errors.js'
import { sleep } from './lib/sleep.js'

/**
 * Graceful drain (SIGTERM on every deploy and scale-in), in the order Kubernetes expects of a pod:
 * 1. at once: /readyz answers 503, new uploads get 503 `shutting_down` with Retry-After, every
 *    other answer carries `Connection: close`; the listener stays open at least `delayMs` (bounded
 *    by `timeoutMs`) so that load balancers see readiness go before connections are refused;
 * 2. uploads in flight may finish until `timeoutMs`; past it they are stopped (503), which aborts
 *    their multipart uploads, and get up to ABORT_GRACE_MS for that cleanup;
 * 3. the listener closes and the other requests in flight (predicts, reads) finish within what is
 *    left of `timeoutMs`, after which their connections are cut;
 * 4. app.close() runs the onClose hooks: pending S3 cleanups get up to CLEANUP_FLUSH_MS more.
 * With the local stack stopping after that (up to LOCAL_STACK_STOP_MS), the whole shutdown takes at
 * most timeoutMs + SHUTDOWN_OVERHEAD_MS: the orchestrator's grace period must be longer.
 */
export const ABORT_GRACE_MS = 10_000
export const CLEANUP_FLUSH_MS = 5_000
/** The local stack's three children stop one after another, each within 5 s of being told (child.ts). */
const LOCAL_STACK_STOP_MS = 15_000
export const SHUTDOWN_OVERHEAD_MS = ABORT_GRACE_MS + CLEANUP_FLUSH_MS + LOCAL_STACK_STOP_MS

export async function drain(app: FastifyInstance, timeoutMs: number, delayMs = 0): Promise<void> {
  const { lifecycle, log } = app
  const started = Date.now()
  lifecycle.startDrain()
  log.info({ uploads: lifecycle.activeUploads, timeoutMs, delayMs }, 'draining')
  const listening = sleep(Math.min(delayMs, timeoutMs))
  if (!(await within(lifecycle.uploadsIdle(), timeoutMs))) {
    log.warn({ uploads: lifecycle.activeUploads }, 'drain deadline passed: stopping the uploads still running')
    lifecycle.abortUploads(errors.shuttingDown())
    if (!(await within(lifecycle.uploadsIdle(), ABORT_GRACE_MS))) log.error({ uploads: lifecycle.activeUploads }, 'uploads did not stop in time')
  }
  await listening
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
