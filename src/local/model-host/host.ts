// The local model host: serves handlers/ behind the SageMaker container contract, one HTTP server
// per container, so the local runtime talks to it exactly as SageMaker talks to a model container.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Logger, pino } from 'pino'
import type { Handler } from '../../../handlers/handler.js'
import { type ContainerServer, createContainerServer } from './container-server.js'
import { defaultHandlersDir, loadHandler } from './handler-loader.js'
import { type LoadedModel, loadModel } from './loaded-model.js'

export interface ContainerSpec {
  name: string
  /** Folder name under handlersDir. */
  handler: string
  /** Passed to modelFn (SageMaker's /opt/ml/model). */
  modelDir?: string
  /** Default 0: any free port. */
  port?: number
  /** Default DEFAULT_INVOCATION_TIMEOUT_MS. */
  invocationTimeoutMs?: number
}

export interface ModelHostOptions {
  /** Default 127.0.0.1. */
  host?: string
  containers: ContainerSpec[]
  /** Default: the repo's handlers/ folder (dist/handlers/ when compiled). */
  handlersDir?: string
  /** Where request bodies are spooled. Default: a fresh folder under the OS temp dir, removed on close. */
  tmpDir?: string
  /** Default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number
  logger?: Logger
}

export interface ModelHost {
  containers: { name: string; url: string }[]
  /** Resolves when every container's modelFn has finished; rejects if one failed (/ping stays 503). */
  ready: Promise<void>
  close(): Promise<void>
}

/** Async inference takes inputs up to 1 GB; the margin leaves room for multipart or framing overhead. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024 * 1024 + 16 * 1024 * 1024
/** SageMaker async's longest InvocationTimeoutSeconds (3600); real-time callers set their own. */
export const DEFAULT_INVOCATION_TIMEOUT_MS = 3600 * 1000

const MAX_TIMER_MS = 2 ** 31 - 1

function validate(options: ModelHostOptions): void {
  if (options.containers.length === 0) throw new Error('the model host needs at least one container')
  const names = new Set<string>()
  for (const container of options.containers) {
    if (names.has(container.name)) throw new Error(`duplicate container name "${container.name}"`)
    names.add(container.name)
    const timeoutMs = container.invocationTimeoutMs
    // setTimeout fires at once for delays over 2^31-1 ms, so larger values are refused.
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS)) {
      throw new Error(`container "${container.name}": invocationTimeoutMs must be from 1 to ${MAX_TIMER_MS}`)
    }
  }
}

/**
 * Imports every handler (an unknown one rejects here, before anything listens), starts each
 * container's modelFn in the background and listens. Answers once all servers listen; `ready`
 * tells when the models are loaded.
 */
export async function startModelHost(options: ModelHostOptions): Promise<ModelHost> {
  validate(options)
  const logger = options.logger ?? pino({ level: 'silent' })
  const host = options.host ?? '127.0.0.1'
  const handlersDir = options.handlersDir ?? defaultHandlersDir
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES

  const handlers = new Map<string, Handler>()
  for (const spec of options.containers) {
    if (!handlers.has(spec.handler)) handlers.set(spec.handler, await loadHandler(handlersDir, spec.handler))
  }

  const ownTmpDir = options.tmpDir === undefined ? await mkdtemp(join(tmpdir(), 'sagegate-model-host-')) : undefined
  const tmpDir = options.tmpDir ?? ownTmpDir!
  await mkdir(tmpDir, { recursive: true })
  const servers: ContainerServer[] = []
  const models: LoadedModel[] = []
  const containers: ModelHost['containers'] = []
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.close()))
    if (ownTmpDir !== undefined) await rm(ownTmpDir, { recursive: true, force: true })
  }

  try {
    for (const spec of options.containers) {
      const containerLogger = logger.child({ container: spec.name })
      const model = loadModel(spec.name, handlers.get(spec.handler)!, spec.modelDir, containerLogger)
      models.push(model)
      const server = createContainerServer({
        model,
        tmpDir,
        maxBodyBytes,
        invocationTimeoutMs: spec.invocationTimeoutMs ?? DEFAULT_INVOCATION_TIMEOUT_MS,
        logger: containerLogger,
      })
      servers.push(server)
      const address = await server.listen(spec.port ?? 0, host)
      const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      containers.push({ name: spec.name, url: `http://${urlHost}:${address.port}` })
      containerLogger.info({ url: containers.at(-1)!.url, handler: spec.handler }, 'model container listening')
    }
  } catch (err) {
    await close()
    throw err
  }

  const ready = Promise.all(models.map((model) => model.ready)).then(() => undefined)
  ready.catch(() => {}) // a failed load is reported by /ping; awaiting `ready` is optional
  return { containers, ready, close }
}
