import pino from 'pino'
import { prettyTransport } from '../lib/logger.js'
import { startComponent, type ComponentSpec, type RunningComponent } from './components.js'

/**
 * Entry point of a local-stack child process. The supervisor sends a `start` message over IPC; the
 * child answers `ready` with its URLs. It stops when the supervisor sends `stop`, or when the
 * supervisor goes away (IPC 'disconnect'), never on a signal of its own: a terminal's Ctrl-C (SIGINT)
 * or a SIGTERM sent to the whole process group (systemd, `kill -- -pgid`) reaches the children too,
 * and the gateway must first drain its uploads against a working S3, then stop them.
 */
type Message = { type: 'start'; spec: ComponentSpec; logLevel: string } | { type: 'stop' }

let running: RunningComponent | undefined
let stopping = false

async function stop(code: number): Promise<void> {
  if (stopping) return
  stopping = true
  const timer = setTimeout(() => process.exit(code), 5000)
  timer.unref()
  await running?.close().catch(() => undefined)
  process.exit(code)
}

process.on('message', (message: Message) => {
  if (message.type === 'stop') return void stop(0)
  // Readable lines when the terminal is this process's stdout too (inherited from the gateway).
  const logger = pino({ level: message.logLevel, name: `local-${message.spec.role}`, ...(process.stdout.isTTY ? { transport: prettyTransport } : {}) })
  startComponent(message.spec, logger).then(
    (component) => {
      running = component
      process.send?.({ type: 'ready', info: component.info })
    },
    (err: unknown) => {
      logger.fatal({ err }, 'could not start')
      void stop(1)
    },
  )
})
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => undefined)
process.once('disconnect', () => void stop(0))
