import pino from 'pino'
import { startComponent, type ComponentSpec, type RunningComponent } from './components.js'

/**
 * Entry point of a local-stack child process. The supervisor sends one `start` message over IPC;
 * the child answers `ready` with its URLs, and stops on SIGTERM/SIGINT or when the parent goes away.
 */
interface StartMessage {
  type: 'start'
  spec: ComponentSpec
  logLevel: string
}

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

process.once('message', (message: StartMessage) => {
  const logger = pino({ level: message.logLevel, name: `local-${message.spec.role}` })
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
process.once('SIGTERM', () => void stop(0))
// Ctrl-C in a terminal sends SIGINT to the whole process group. The supervisor drains the gateway
// first and then stops this child with SIGTERM, so SIGINT alone does not stop it (stopping at once
// would fail the uploads the gateway is still finishing).
process.on('SIGINT', () => undefined)
process.once('disconnect', () => void stop(0))
