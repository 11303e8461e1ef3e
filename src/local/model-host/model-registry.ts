// The models a multi-model container holds, by the opaque `model_name` the runtime gave each load.
// Implements the MME container contract's semantics (sagemaker-notes, "Multi-model endpoints"):
// load (409 already loaded, 507 full), list, describe, unload, and leases for invocations.
import type { Logger } from 'pino'
import type { ContainerEnv } from '../../../handlers/handler.js'
import { type HandlerCache, HandlerLoadError, type HostedHandler } from './handler-loader.js'
import { type LoadedModel, loadModel } from './loaded-model.js'
import { ManifestError, modelDirOf, readModelManifest } from './model-manifest.js'

/** A load or unload the container refuses: answered with statusCode and `{"error": message}`. */
export class ModelRequestError extends Error {
  override readonly name = 'ModelRequestError'

  constructor(
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export interface ModelDescription {
  modelName: string
  modelUrl: string
  handler: string
}

export interface ModelLease {
  readonly model: LoadedModel
  /** Call once the invocation is over: an unload waits for every lease to be released. */
  release(): void
}

export interface ModelRegistry {
  /** Loads synchronously (resolves once modelFn has); `signal` aborting (caller gone) drops the model. */
  load(name: string, url: string, signal: AbortSignal): Promise<void>
  /** Loaded models (not those still loading), sorted by name. */
  list(): ModelDescription[]
  describe(name: string): ModelDescription | undefined
  acquire(name: string): ModelLease | undefined
  /** False when no such model is loaded. Resolves once the model's invocations are over and unloadFn ran. */
  unload(name: string): Promise<boolean>
  /** Unloads everything (host shutdown). */
  close(): Promise<void>
}

export interface ModelRegistryOptions {
  handlers: HandlerCache
  env: ContainerEnv
  maxLoadedModels: number
  logger: Logger
}

interface Entry {
  readonly name: string
  readonly url: string
  state: 'loading' | 'loaded'
  handlerName?: string
  model?: LoadedModel
  /** Settles (never rejects) when the load has succeeded or failed. */
  settled: Promise<void>
  inFlight: number
  idle: Array<() => void>
}

const describeEntry = (entry: Entry): ModelDescription => ({
  modelName: entry.name,
  modelUrl: entry.url,
  handler: entry.handlerName ?? '',
})

export function createModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  const { handlers, env, maxLoadedModels, logger } = options
  /** Loading and loaded models: both hold a slot, so concurrent loads cannot overfill the container. */
  const entries = new Map<string, Entry>()

  async function loadEntry(entry: Entry, signal: AbortSignal): Promise<LoadedModel> {
    const modelDir = modelDirOf(entry.url)
    const manifest = await readModelManifest(modelDir)
    let handler: HostedHandler
    try {
      handler = await handlers.get(manifest.handler)
    } catch (err) {
      // A name that is invalid or names no folder is the artifact's mistake; a broken module is ours.
      if (err instanceof HandlerLoadError && (err.code === 'invalid-name' || err.code === 'not-found')) {
        throw new ManifestError(`${modelDir}/model.json: ${err.message}`, { cause: err })
      }
      throw err
    }
    entry.handlerName = manifest.handler
    const model = loadModel({ name: entry.name, handler, modelDir, env, logger })
    try {
      await model.ready
    } catch (err) {
      throw new ModelRequestError(500, `model ${entry.name} failed to load: ${(err as Error).message}`, { cause: err })
    }
    if (signal.aborted) {
      // Nobody will learn that it loaded (the runtime gave up and removes the files): do not keep it.
      await callUnloadFn(model)
      throw signal.reason
    }
    return model
  }

  async function callUnloadFn(model: LoadedModel): Promise<void> {
    const { unloadFn } = model.handler
    if (unloadFn === undefined) return
    try {
      await unloadFn.call(model.handler, model.model)
    } catch (err) {
      // The model is gone from the registry either way; a failing unloadFn must not keep it listed.
      logger.warn({ err, model: model.name }, 'unloadFn failed')
    }
  }

  function whenIdle(entry: Entry): Promise<void> {
    if (entry.inFlight === 0) return Promise.resolve()
    return new Promise((resolve) => entry.idle.push(resolve))
  }

  async function drop(entry: Entry): Promise<void> {
    entries.delete(entry.name)
    // Invocations already running keep their model; the runtime deletes the artifact's files after
    // the unload answer, so the answer waits until they are over.
    await whenIdle(entry)
    await callUnloadFn(entry.model!)
    logger.info({ model: entry.name }, 'model unloaded')
  }

  return {
    async load(name, url, signal) {
      const existing = entries.get(name)
      if (existing !== undefined) {
        const what = existing.state === 'loading' ? 'is being loaded' : 'is already loaded'
        throw new ModelRequestError(409, `model ${name} ${what}`)
      }
      if (entries.size >= maxLoadedModels) {
        // 507 Insufficient Storage (RFC 4918 §11.5), what the MME contract answers when full: the
        // runtime then unloads its least recently used model and retries.
        throw new ModelRequestError(507, `the container holds its maximum of ${maxLoadedModels} models; unload one first`)
      }
      let settle!: () => void
      const entry: Entry = { name, url, state: 'loading', settled: new Promise((r) => (settle = r)), inFlight: 0, idle: [] }
      entries.set(name, entry)
      const startedMs = Date.now()
      try {
        entry.model = await loadEntry(entry, signal)
        entry.state = 'loaded'
        logger.info({ model: name, handler: entry.handlerName, loadMs: Date.now() - startedMs }, 'model loaded')
      } catch (err) {
        entries.delete(name)
        if (err instanceof ManifestError) throw new ModelRequestError(400, err.message, { cause: err })
        if (err instanceof HandlerLoadError) throw new ModelRequestError(500, err.message, { cause: err })
        throw err
      } finally {
        settle()
      }
    },

    list() {
      return [...entries.values()]
        .filter((e) => e.state === 'loaded')
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map(describeEntry)
    },

    describe(name) {
      const entry = entries.get(name)
      return entry?.state === 'loaded' ? describeEntry(entry) : undefined
    },

    acquire(name) {
      const entry = entries.get(name)
      if (entry?.state !== 'loaded') return undefined
      entry.inFlight++
      let released = false
      return {
        model: entry.model!,
        release() {
          if (released) return
          released = true
          entry.inFlight--
          if (entry.inFlight === 0) for (const resolve of entry.idle.splice(0)) resolve()
        },
      }
    },

    async unload(name) {
      const entry = entries.get(name)
      // An unload of a model still loading waits for the outcome: a model that loads is then unloaded.
      if (entry?.state === 'loading') {
        await entry.settled
        if (entries.get(name) !== entry) return false
      }
      if (entry === undefined) return false
      await drop(entry)
      return true
    },

    async close() {
      await Promise.all([...entries.values()].filter((e) => e.state === 'loaded').map((e) => drop(e)))
    },
  }
}
