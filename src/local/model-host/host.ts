// The local model host: serves handlers/ behind the SageMaker container contract, one HTTP server
// per container, so the local runtime talks to it exactly as SageMaker talks to a model container.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Logger, pino } from 'pino'
import type { ContainerEnv } from '../../../handlers/handler.js'
import { type ContainerServer, createContainerServer, createSingleModelRoutes, type RouteTable } from './container-server.js'
import { createHandlerCache, defaultHandlersDir, type HandlerCache, type HostedHandler } from './handler-loader.js'
import type { InvocationOptions } from './invoke.js'
import { type LoadedModel, loadModel } from './loaded-model.js'
import { createModelRegistry, type ModelRegistry } from './model-registry.js'
import { createMultiModelRoutes } from './multi-model-routes.js'
import { removeSpooledBodies } from './spooled-body.js'

export interface ContainerSpec {
  name: string
  /** Folder name under handlersDir. Required for a single-model container; not allowed with multiModel. */
  handler?: string
  /** Passed to modelFn (SageMaker's /opt/ml/model). Single-model containers only. */
  modelDir?: string
  /**
   * Serve the multi-model container contract (`/models` load/list/get/delete, `/models/{name}/invoke`)
   * instead of one fixed handler: each loaded artifact's model.json names its handler.
   */
  multiModel?: boolean
  /** Multi-model only: loads beyond this many models are refused with 507. Default DEFAULT_MAX_LOADED_MODELS. */
  maxLoadedModels?: number
  /** The container's environment (a SageMaker Model's Environment): given to modelFn and on ctx.env. */
  env?: Record<string, string>
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
  /**
   * tmpDir is this host's alone (the local stack's): bodies spooled there by an earlier host that died
   * are removed at start. Leave unset when other hosts may spool into the same folder.
   */
  ownsTmpDir?: boolean
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
export const DEFAULT_MAX_LOADED_MODELS = 16

const MAX_TIMER_MS = 2 ** 31 - 1

function validate(options: ModelHostOptions): void {
  if (options.containers.length === 0) throw new Error('the model host needs at least one container')
  const names = new Set<string>()
  for (const container of options.containers) {
    if (names.has(container.name)) throw new Error(`duplicate container name "${container.name}"`)
    names.add(container.name)
    const where = `container "${container.name}"`
    const timeoutMs = container.invocationTimeoutMs
    // setTimeout fires at once for delays over 2^31-1 ms, so larger values are refused.
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS)) {
      throw new Error(`${where}: invocationTimeoutMs must be from 1 to ${MAX_TIMER_MS}`)
    }
    if (container.multiModel === true) {
      if (container.handler !== undefined) throw new Error(`${where}: a multi-model container takes its handlers from each model's model.json, not "handler"`)
      if (container.modelDir !== undefined) throw new Error(`${where}: a multi-model container gets its model directories from load requests, not "modelDir"`)
      const max = container.maxLoadedModels
      if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new Error(`${where}: maxLoadedModels must be an integer of at least 1`)
    } else {
      if (container.handler === undefined || container.handler === '') throw new Error(`${where}: "handler" is required (or set multiModel)`)
      if (container.maxLoadedModels !== undefined) throw new Error(`${where}: maxLoadedModels needs multiModel: true`)
    }
    for (const [key, value] of Object.entries(container.env ?? {})) {
      if (typeof value !== 'string') throw new Error(`${where}: env.${key} must be a string`)
    }
  }
}

interface Container {
  routes: RouteTable
  /** Single-model: loading in the background. */
  model?: LoadedModel
  registry?: ModelRegistry
}

function createContainer(
  spec: ContainerSpec,
  handler: HostedHandler | undefined,
  handlers: HandlerCache,
  invocation: InvocationOptions,
): Container {
  const env: ContainerEnv = Object.freeze({ ...spec.env })
  if (spec.multiModel === true) {
    const registry = createModelRegistry({
      handlers,
      env,
      maxLoadedModels: spec.maxLoadedModels ?? DEFAULT_MAX_LOADED_MODELS,
      logger: invocation.logger,
    })
    return { registry, routes: createMultiModelRoutes({ ...invocation, registry }) }
  }
  const model = loadModel({ name: spec.name, handler: handler!, modelDir: spec.modelDir, env, logger: invocation.logger })
  return { model, routes: createSingleModelRoutes(model, invocation) }
}

/**
 * Imports every fixed handler (an unknown one rejects here, before anything listens), starts each
 * single-model container's modelFn in the background and listens. Answers once all servers listen;
 * `ready` tells when the fixed models are loaded (multi-model containers load on request).
 */
export async function startModelHost(options: ModelHostOptions): Promise<ModelHost> {
  validate(options)
  const logger = options.logger ?? pino({ level: 'silent' })
  const host = options.host ?? '127.0.0.1'
  const handlersDir = options.handlersDir ?? defaultHandlersDir
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES

  // One cache for the host: the fixed containers and every multi-model artifact share handler modules.
  const handlers = createHandlerCache(handlersDir)
  const fixedHandlers = new Map<string, HostedHandler>()
  for (const spec of options.containers) {
    if (spec.handler !== undefined) fixedHandlers.set(spec.handler, await handlers.get(spec.handler))
  }

  const ownTmpDir = options.tmpDir === undefined ? await mkdtemp(join(tmpdir(), 'sagegate-model-host-')) : undefined
  const tmpDir = options.tmpDir ?? ownTmpDir!
  await mkdir(tmpDir, { recursive: true })
  if (options.ownsTmpDir === true) {
    const removed = await removeSpooledBodies(tmpDir)
    if (removed > 0) logger.warn({ tmpDir, removed }, 'removed request bodies left by a model host that died')
  }
  const servers: ContainerServer[] = []
  const models: LoadedModel[] = []
  const registries: ModelRegistry[] = []
  const containers: ModelHost['containers'] = []
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.close()))
    // After the servers: no load or invocation is running any more, so every unloadFn can run.
    await Promise.all(registries.map((registry) => registry.close()))
    if (ownTmpDir !== undefined) await rm(ownTmpDir, { recursive: true, force: true })
  }

  try {
    for (const spec of options.containers) {
      const containerLogger = logger.child({ container: spec.name })
      const invocation: InvocationOptions = {
        tmpDir,
        maxBodyBytes,
        invocationTimeoutMs: spec.invocationTimeoutMs ?? DEFAULT_INVOCATION_TIMEOUT_MS,
        logger: containerLogger,
      }
      const handler = spec.handler === undefined ? undefined : fixedHandlers.get(spec.handler)
      const container = createContainer(spec, handler, handlers, invocation)
      if (container.model) models.push(container.model)
      if (container.registry) registries.push(container.registry)
      const server = createContainerServer({ routes: container.routes, logger: containerLogger })
      servers.push(server)
      const address = await server.listen(spec.port ?? 0, host)
      const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      containers.push({ name: spec.name, url: `http://${urlHost}:${address.port}` })
      const kind = spec.multiModel === true ? { multiModel: true } : { handler: spec.handler }
      containerLogger.info({ url: containers.at(-1)!.url, ...kind }, 'model container listening')
    }
  } catch (err) {
    await close()
    throw err
  }

  const ready = Promise.all(models.map((model) => model.ready)).then(() => undefined)
  ready.catch(() => {}) // a failed load is reported by /ping; awaiting `ready` is optional
  return { containers, ready, close }
}
