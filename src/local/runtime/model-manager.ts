import type { S3Client } from '@aws-sdk/client-s3'
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Logger } from 'pino'
import { describeNetworkError } from './container-exchange.js'
import { modelError, modelNotReady, originalMessages, RuntimeError, type ModelErrorScope } from './errors.js'
import { fetchArtifact } from './model-artifact.js'
import { loadModelInContainer, unloadModelInContainer, type ManagementAnswer } from './multi-model-container.js'
import { parseS3Path } from './s3-paths.js'
import type { MultiModelConfig, MultiModelStats } from './types.js'

export const DEFAULT_NOT_READY_AFTER_MS = 60_000
export const DEFAULT_MAX_LOAD_MS = 360_000

/**
 * SageMaker names a model in the container by an opaque id (an MD5 hex of the TargetModel, as seen
 * in MME containers' logs); TargetModel itself may hold "/" and anything printable.
 */
export const modelIdOf = (targetModel: string): string => createHash('md5').update(targetModel).digest('hex')

export interface ModelLease {
  id: string
  targetModel: string
  /** Call when the invocation is over (LRU prefers models nobody is using). */
  release(): void
  /** The container answered 404 for this model: it unloaded it on its own. */
  lost(): void
}

export interface ModelManager {
  /**
   * The model, loaded: at once when it is, else after a cold load (started or joined: concurrent
   * first calls share one). Waiting longer than notReadyAfterMs throws ModelNotReadyException while
   * the load continues; a failed load throws its error and leaves the model unloaded.
   */
  acquire(targetModel: string): Promise<ModelLease>
  stats(): MultiModelStats
  close(): Promise<void>
}

export interface ModelManagerOptions {
  config: MultiModelConfig
  containerUrl: string
  s3: S3Client
  scope: ModelErrorScope
  logger: Logger
}

interface ModelEntry {
  id: string
  targetModel: string
  state: 'loading' | 'loaded'
  /** Counted against maxLoadedModels: loaded, or loading past the point of making room. */
  holdsSlot: boolean
  ready: Promise<void>
  lastUsed: number
  inFlight: number
}

const LOAD_TIMEOUT = Symbol('maxLoadMs')

export function createModelManager(o: ModelManagerOptions): ModelManager {
  const prefix = parseS3Path(o.config.modelDataUrl)
  if (prefix === undefined) throw new Error(`not an S3 prefix: ${o.config.modelDataUrl}`)
  const modelsDir = resolve(o.config.modelsDir)
  const notReadyAfterMs = o.config.notReadyAfterMs ?? DEFAULT_NOT_READY_AFTER_MS
  const maxLoadMs = o.config.maxLoadMs ?? DEFAULT_MAX_LOAD_MS
  const shutdown = new AbortController()
  const entries = new Map<string, ModelEntry>()
  /** Unloads in progress by id: a reload of the same model waits for its unload (and dir removal). */
  const unloading = new Map<string, Promise<void>>()
  const tasks = new Set<Promise<unknown>>()
  let useClock = 0
  const counts = { loads: 0, failedLoads: 0, unloads: 0, coldStarts: 0 }

  const track = <T>(p: Promise<T>): Promise<T> => {
    tasks.add(p)
    void p.then(
      () => tasks.delete(p),
      () => tasks.delete(p),
    )
    return p
  }
  const slotsHeld = (): number => [...entries.values()].filter((e) => e.holdsSlot).length
  const keyOf = (targetModel: string): string => [prefix.prefix, targetModel].filter((s) => s !== '').join('/')

  function lease(entry: ModelEntry): ModelLease {
    entry.inFlight++
    entry.lastUsed = ++useClock
    let released = false
    return {
      id: entry.id,
      targetModel: entry.targetModel,
      release() {
        if (released) return
        released = true
        entry.inFlight--
      },
      lost() {
        // Only this generation: a concurrent caller may already have reloaded it.
        if (entries.get(entry.id) !== entry) return
        entries.delete(entry.id)
        o.logger.warn({ targetModel: entry.targetModel, id: entry.id }, 'the container no longer has the model; it will be reloaded')
      },
    }
  }

  /** Unloads the least recently used model (idle ones first); false when there is none to unload. */
  async function evictOne(except: ModelEntry): Promise<boolean> {
    const candidates = [...entries.values()].filter((e) => e !== except && e.state === 'loaded')
    if (candidates.length === 0) return false
    candidates.sort((a, b) => Number(a.inFlight > 0) - Number(b.inFlight > 0) || a.lastUsed - b.lastUsed)
    const victim = candidates[0]!
    entries.delete(victim.id)
    counts.unloads++
    const done = track(
      (async () => {
        try {
          const answer = await unloadModelInContainer(o.containerUrl, victim.id, shutdown.signal)
          if (answer.status >= 300 && answer.status !== 404) {
            o.logger.warn({ targetModel: victim.targetModel, status: answer.status, body: answer.body }, 'the container refused to unload a model')
          }
        } catch (err) {
          if (!shutdown.signal.aborted) o.logger.warn({ err, targetModel: victim.targetModel }, 'could not unload a model')
        }
        await rm(join(modelsDir, victim.id), { recursive: true, force: true })
      })().finally(() => unloading.delete(victim.id)),
    )
    unloading.set(victim.id, done)
    o.logger.info({ targetModel: victim.targetModel, id: victim.id }, 'unloading the least recently used model')
    await done
    return true
  }

  async function load(entry: ModelEntry, signal: AbortSignal): Promise<void> {
    await unloading.get(entry.id)
    const modelDir = join(modelsDir, entry.id, 'model')
    await fetchArtifact(o.s3, { bucket: prefix!.bucket, key: keyOf(entry.targetModel) }, modelDir, signal)
    // Make room before loading (MME: models are unloaded LRU when the instance is full). The slot is
    // taken synchronously with the check so concurrent loads of different models cannot overfill it.
    // When every slot belongs to a load still in progress there is nothing to unload yet: this load
    // goes over capacity, and the next one makes room.
    while (slotsHeld() >= o.config.maxLoadedModels && (await evictOne(entry))) {
      // evicted one; check again
    }
    entry.holdsSlot = true
    let answer = await loadModelInContainer(o.containerUrl, entry.id, modelDir, signal)
    // 507: the container is out of memory — unload the LRU model and try once more.
    if (answer.status === 507 && (await evictOne(entry))) answer = await loadModelInContainer(o.containerUrl, entry.id, modelDir, signal)
    // 409: already loaded (e.g. the runtime restarted while the container kept it).
    if ((answer.status >= 200 && answer.status <= 299) || answer.status === 409) return
    throw loadRefused(answer)
  }

  const loadRefused = (answer: ManagementAnswer): RuntimeError => modelError(o.scope, answer.status, answer.body)

  function startLoad(targetModel: string, id: string): ModelEntry {
    const entry: ModelEntry = { id, targetModel, state: 'loading', holdsSlot: false, ready: Promise.resolve(), lastUsed: ++useClock, inFlight: 0 }
    entries.set(id, entry)
    const controller = new AbortController()
    const onShutdown = (): void => controller.abort(shutdown.signal.reason)
    shutdown.signal.addEventListener('abort', onShutdown, { once: true })
    const timer = setTimeout(() => controller.abort(LOAD_TIMEOUT), maxLoadMs)
    const startedMs = Date.now()
    o.logger.info({ targetModel, id }, 'loading a model (cold start)')
    entry.ready = track(
      load(entry, controller.signal)
        .then(
          () => {
            entry.state = 'loaded'
            entry.holdsSlot = true
            counts.loads++
            o.logger.info({ targetModel, id, loadMs: Date.now() - startedMs }, 'model loaded')
          },
          async (err: unknown) => {
            // Remove the partial files while the entry still blocks a new load of the same model.
            await rm(join(modelsDir, id), { recursive: true, force: true }).catch(() => undefined)
            if (entries.get(id) === entry) entries.delete(id)
            counts.failedLoads++
            const failure = translateLoadError(err, controller.signal, targetModel)
            o.logger.warn({ targetModel, id, err: failure }, 'model load failed')
            throw failure
          },
        )
        .finally(() => {
          clearTimeout(timer)
          shutdown.signal.removeEventListener('abort', onShutdown)
        }),
    )
    entry.ready.catch(() => undefined) // every waiter observes it; nobody may be waiting any more
    return entry
  }

  function translateLoadError(err: unknown, signal: AbortSignal, targetModel: string): unknown {
    if (err instanceof RuntimeError) return err
    if (signal.reason === LOAD_TIMEOUT) return modelError(o.scope, 0, originalMessages.loadTimedOut(targetModel, maxLoadMs))
    if (signal.aborted) return err
    return modelError(o.scope, originalMessages.noResponseStatus, originalMessages.unreachable(describeNetworkError(err)))
  }

  return {
    async acquire(targetModel) {
      if (shutdown.signal.aborted) throw new Error('local runtime closing')
      const id = modelIdOf(targetModel)
      let entry = entries.get(id)
      if (entry?.state === 'loaded') return lease(entry)
      counts.coldStarts++
      entry ??= startLoad(targetModel, id)
      let timer: NodeJS.Timeout | undefined
      const notReady = new Promise<'not-ready'>((r) => (timer = setTimeout(() => r('not-ready'), notReadyAfterMs)))
      try {
        if ((await Promise.race([entry.ready, notReady])) === 'not-ready') throw modelNotReady(targetModel)
      } finally {
        clearTimeout(timer)
      }
      return lease(entry)
    },
    stats() {
      const all = [...entries.values()]
      const loaded = all.filter((e) => e.state === 'loaded').sort((a, b) => a.lastUsed - b.lastUsed)
      return {
        ...counts,
        loading: all.length - loaded.length,
        loadedModels: loaded.length,
        loaded: loaded.map((e) => e.targetModel),
      }
    },
    async close() {
      shutdown.abort(new Error('local runtime closing'))
      await Promise.allSettled([...tasks])
    },
  }
}
