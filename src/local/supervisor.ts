// Runs one local-stack part in a child process (child.ts) and keeps it running: a child that dies is
// started again, with backoff, on the same port(s), because the gateway and the other parts hold its
// URL. Its state is on disk (S3 objects, the runtime's persisted async queue), so a restarted child
// carries on where the dead one stopped. When the supervisor itself dies, the children stop on their
// own (child.ts: IPC 'disconnect').
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import type { ComponentSpec, RunningComponent } from './components.js'

export interface SupervisedComponent extends RunningComponent {
  role: ComponentSpec['role']
  /** The running child's pid; undefined between a crash and the next successful start. */
  pid(): number | undefined
}

export interface RestartPolicy {
  initialDelayMs: number
  maxDelayMs: number
  /** A child that stayed up this long starts the backoff over when it dies. */
  stableAfterMs: number
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 250, maxDelayMs: 10_000, stableAfterMs: 60_000 }
/** close(): the `stop` message (children ignore signals, child.ts), then SIGKILL if the child has not exited by then. */
const KILL_AFTER_MS = 10_000
/** A restarted child not ready by then is killed and retried (a container's /ping must pass within 4 min). */
const RESTART_READY_TIMEOUT_MS = 4 * 60_000

const childEntry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url))

interface Launch {
  child: ChildProcess
  /** The child's info once it says it is ready; rejects if it exits (or cannot be forked) first. */
  ready: Promise<RunningComponent['info']>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function launch(spec: ComponentSpec, logLevel: string): Launch {
  // The child inherits execArgv so it runs under the same loader (TypeScript under tap).
  // The role as an argument only so that `ps` tells the children apart.
  const child = fork(childEntry, [spec.role], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const ready = new Promise<RunningComponent['info']>((resolve, reject) => {
    // Kept for the child's life: a later 'error' (a failed kill or send) must not throw.
    child.on('error', reject)
    void exited.then(({ code, signal }) => reject(new Error(`local ${spec.role} exited before it was ready (code ${code}, signal ${signal})`)))
    child.on('message', (m: { type: string; info: RunningComponent['info'] }) => {
      if (m.type === 'ready') resolve(m.info)
    })
  })
  ready.catch(() => undefined) // the caller awaits it; a child that dies later must not be an unhandled rejection
  child.send({ type: 'start', spec, logLevel })
  return { child, ready, exited }
}

const portOf = (url: string | undefined): number => Number(new URL(url ?? '').port)

/** The spec a restart uses: the ports the first start got, so every URL handed out stays valid. */
export function pinPorts(spec: ComponentSpec, info: RunningComponent['info']): ComponentSpec {
  switch (spec.role) {
    case 's3':
      return { ...spec, options: { ...spec.options, port: portOf(info.url) } }
    case 'runtime':
      return { ...spec, options: { ...spec.options, port: portOf(info.url) } }
    case 'model-host': {
      const containers = spec.options.containers.map((c) => ({ ...c, port: portOf(info.containers?.find((x) => x.name === c.name)?.url) }))
      return { ...spec, options: { ...spec.options, containers } }
    }
  }
}

/**
 * Starts the part and resolves once it is ready; a first start that fails rejects (a configuration
 * error should stop the stack, not loop). Later deaths are restarted until close().
 */
export async function superviseComponent(
  spec: ComponentSpec,
  o: { logLevel: string; logger: Logger; policy?: RestartPolicy },
): Promise<SupervisedComponent> {
  const policy = o.policy ?? DEFAULT_RESTART_POLICY
  const role = spec.role
  let current = launch(spec, o.logLevel)
  let closing = false
  let restartTimer: NodeJS.Timeout | undefined
  let delayMs = policy.initialDelayMs
  let readyAtMs = 0
  let alive = false

  const info = await current.ready.catch((err: unknown) => {
    stop(current.child, 'SIGKILL')
    throw err
  })
  const restartSpec = pinPorts(spec, info)

  function watch(l: Launch): void {
    alive = true
    readyAtMs = Date.now()
    void l.exited.then(({ code, signal }) => {
      alive = false
      if (closing) return
      if (Date.now() - readyAtMs >= policy.stableAfterMs) delayMs = policy.initialDelayMs
      o.logger.error({ role, pid: l.child.pid, code, signal }, 'local stack process died')
      scheduleRestart()
    })
  }

  function scheduleRestart(): void {
    const waitMs = delayMs
    delayMs = Math.min(delayMs * 2, policy.maxDelayMs)
    restartTimer = setTimeout(() => void restart(waitMs), waitMs)
  }

  async function restart(waitedMs: number): Promise<void> {
    restartTimer = undefined
    if (closing) return
    const next = launch(restartSpec, o.logLevel)
    current = next
    o.logger.warn({ role, pid: next.child.pid, afterMs: waitedMs }, 'restarting local stack process')
    const hung = setTimeout(() => stop(next.child, 'SIGKILL'), RESTART_READY_TIMEOUT_MS)
    try {
      await next.ready
    } catch (err) {
      stop(next.child, 'SIGKILL')
      if (closing) return
      // A port still held by the dead child (EADDRINUSE) lands here too: just another failed start.
      o.logger.error({ err, role, pid: next.child.pid }, 'local stack process failed to restart')
      scheduleRestart()
      return
    } finally {
      clearTimeout(hung)
    }
    if (closing) return // close() has already told this child to stop
    o.logger.warn({ role, pid: next.child.pid }, 'local stack process restarted')
    watch(next)
  }

  watch(current)
  return {
    role,
    info,
    pid: () => (alive ? current.child.pid : undefined),
    async close() {
      closing = true
      clearTimeout(restartTimer)
      const { child, exited } = current
      // Not forked at all (no pid, no 'exit' to wait for), or already gone.
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
      const killer = setTimeout(() => stop(child, 'SIGKILL'), KILL_AFTER_MS)
      if (child.connected) child.send({ type: 'stop' })
      else stop(child, 'SIGKILL')
      await exited
      clearTimeout(killer)
    },
  }
}

function stop(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal)
}
