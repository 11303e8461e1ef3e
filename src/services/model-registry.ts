import type { Logger } from 'pino'
import { MEDIA_TYPE_PATTERN, MODEL_NAME_PATTERN, type ModelConfig, type MultiModelEndpointConfig, type RealtimeModelConfig } from '../config.js'
import type { ObjectStore } from '../clients/object-store.js'
import { errors } from '../errors.js'
import { deadline } from '../lib/deadline.js'
import { parseS3Prefix } from '../lib/s3-uri.js'

export type NamedModel = ModelConfig & { name: string; discovered?: boolean }

/** Public description of a routable model (no buckets, keys or credentials). */
export interface ModelView {
  name: string
  mode: ModelConfig['mode']
  endpointName: string
  contentTypes: string[]
  maxBytes: number
  streaming?: boolean
  discovered?: boolean
  description?: string
}

export interface ModelRegistry {
  list(): Promise<ModelView[]>
  /** The model, or a 404 AppError. */
  get(name: string): Promise<NamedModel>
}

export const toModelView = (m: NamedModel): ModelView => ({
  name: m.name,
  mode: m.mode,
  endpointName: m.endpointName,
  contentTypes: m.contentTypes ?? ['*/*'],
  maxBytes: m.maxBytes,
  ...(m.mode === 'realtime' ? { streaming: m.streaming } : {}),
  ...(m.discovered === true ? { discovered: true } : {}),
  ...(m.description !== undefined ? { description: m.description } : {}),
})

const ARTIFACT_SUFFIX = '.tar.gz'

/**
 * What an artifact declares about itself, as S3 user metadata on its `.tar.gz` (set by whoever
 * publishes it: `aws s3 cp m.tar.gz s3://…/m.tar.gz --metadata sagegate-content-types=text/plain,application/json`;
 * the local stack publishes its demo models' model.json this way). An artifact that declares nothing
 * takes the endpoint's `contentTypes` (`*\/*` when none).
 */
export const ARTIFACT_METADATA = { contentTypes: 'sagegate-content-types', description: 'sagegate-description' } as const
/** HEADs of new or changed artifacts at once while a listing is refreshed. */
const HEAD_CONCURRENCY = 8

interface Declared {
  etag: string | undefined
  contentTypes?: string[]
  description?: string
}

/** The declaration in an artifact's metadata, or nothing for a value that does not parse (logged). */
export function parseDeclaration(metadata: Record<string, string>, warn: (why: string) => void): Omit<Declared, 'etag'> {
  const out: Omit<Declared, 'etag'> = {}
  const types = metadata[ARTIFACT_METADATA.contentTypes]
  if (types !== undefined) {
    const list = types.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '')
    if (list.length > 0 && list.every((t) => t === '*/*' || MEDIA_TYPE_PATTERN.test(t))) out.contentTypes = list
    else warn(`${ARTIFACT_METADATA.contentTypes} is not a comma-separated list of media types: ${JSON.stringify(types.slice(0, 200))}`)
  }
  const description = metadata[ARTIFACT_METADATA.description]
  if (description !== undefined && description.trim() !== '') out.description = description.trim().slice(0, 500)
  return out
}
const MAX_ARTIFACTS = 10_000
/** A name not found triggers a fresh listing at most this often, so typos cannot hammer S3. */
const MISS_REFRESH_MS = 5_000

export interface ModelRegistryOptions {
  models: Record<string, ModelConfig>
  multiModelEndpoints?: Record<string, MultiModelEndpointConfig>
  store?: ObjectStore
  logger?: Logger
  clock?: () => number
  /** One listing of a prefix, retries included. Default 12 s. */
  listTimeoutMs?: number
}

interface Discovery {
  endpointName: string
  config: MultiModelEndpointConfig
  models: Map<string, NamedModel>
  /** What each artifact key declared, by the ETag it had: only new or changed artifacts are read again. */
  declared: Map<string, Declared>
  listedAt: number
  refreshing: Promise<void> | undefined
}

/**
 * Explicit models from the configuration, plus the artifacts found under each discovering
 * multi-model endpoint's prefix: `<prefix>/<name>.tar.gz` is routable as `name` with TargetModel
 * `<name>.tar.gz`. Listings are cached for `discoveryTtlMs` and then served stale while a fresh one
 * loads in the background (stale-while-revalidate): a request for a model already known never waits
 * on S3. Only the very first listing, and a name not found (at most every MISS_REFRESH_MS), wait for
 * one. Explicit names win over discovered ones.
 */
export function createModelRegistry(options: ModelRegistryOptions): ModelRegistry {
  const now = options.clock ?? Date.now
  // Names come from URLs: look them up in Maps only, never on plain objects and their prototypes.
  const explicit = new Map(Object.entries(options.models).map(([name, m]) => [name, { ...m, name } as NamedModel]))
  const discoveries: Discovery[] = Object.entries(options.multiModelEndpoints ?? {})
    .filter(([, c]) => c.discover)
    .map(([endpointName, config]) => ({ endpointName, config, models: new Map(), declared: new Map(), listedAt: Number.NEGATIVE_INFINITY, refreshing: undefined }))
  if (discoveries.length > 0 && options.store === undefined) throw new Error('model discovery needs an object store')

  async function refresh(d: Discovery): Promise<void> {
    d.refreshing ??= (async () => {
      const { bucket, prefix: keyPrefix } = parseS3Prefix(d.config.modelDataUrl)!
      try {
        const limit = deadline(options.listTimeoutMs ?? 12_000)
        let artifacts: { key: string; etag: string | undefined; name: string; relative: string }[]
        try {
          artifacts = (await options.store!.list(bucket, keyPrefix, MAX_ARTIFACTS, limit.signal))
            .map((o) => ({ ...o, relative: o.key.slice(keyPrefix.length) }))
            .filter((o) => o.relative.endsWith(ARTIFACT_SUFFIX))
            .map((o) => ({ ...o, name: o.relative.slice(0, -ARTIFACT_SUFFIX.length) }))
            // Only names that are valid in a URL path segment are routable; nested keys are not.
            .filter((o) => MODEL_NAME_PATTERN.test(o.name))
          await readDeclarations(d, bucket, artifacts, limit.signal)
        } finally {
          limit.clear()
        }
        const models = new Map<string, NamedModel>()
        for (const { key, name, relative } of artifacts) {
          const declared = d.declared.get(key)
          const contentTypes = declared?.contentTypes ?? d.config.contentTypes
          const model: RealtimeModelConfig = {
            mode: 'realtime',
            endpointName: d.endpointName,
            targetModel: relative,
            ...(contentTypes !== undefined ? { contentTypes } : {}),
            maxBytes: d.config.maxBytes,
            timeoutMs: d.config.timeoutMs,
            coldStartWaitMs: d.config.coldStartWaitMs,
            streaming: false,
            ...(declared?.description !== undefined ? { description: declared.description } : {}),
          }
          models.set(name, { ...model, name, discovered: true })
        }
        d.models = models
        d.listedAt = now()
      } catch (err) {
        // The last listing stays in use; whoever waits on this one sees the storage error.
        options.logger?.warn({ err, endpoint: d.endpointName }, 'model discovery failed')
        throw err
      } finally {
        d.refreshing = undefined
      }
    })()
    return d.refreshing
  }

  /**
   * Reads the declarations of the artifacts that are new or changed since the last listing (their
   * ETag differs), a few at a time, within the listing's deadline. An artifact whose HEAD fails keeps
   * what it declared before (or nothing): the listing itself does not fail for it.
   */
  async function readDeclarations(d: Discovery, bucket: string, artifacts: { key: string; etag: string | undefined; name: string }[], signal: AbortSignal): Promise<void> {
    const todo = artifacts.filter((a) => a.etag === undefined || d.declared.get(a.key)?.etag !== a.etag)
    const next = todo[Symbol.iterator]()
    const worker = async () => {
      for (let a = next.next(); a.done !== true; a = next.next()) {
        const { key, etag, name } = a.value
        try {
          const info = await options.store!.head({ bucket, key }, signal)
          if (info === undefined) continue
          const warn = (why: string) => options.logger?.warn({ endpoint: d.endpointName, model: name }, `artifact metadata ignored: ${why}`)
          d.declared.set(key, { etag, ...parseDeclaration(info.metadata ?? {}, warn) })
        } catch (err) {
          if (signal.aborted) throw err
          options.logger?.warn({ err, endpoint: d.endpointName, model: name }, 'artifact metadata could not be read; using the endpoint defaults')
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, todo.length) }, worker))
    const present = new Set(artifacts.map((a) => a.key))
    for (const key of d.declared.keys()) if (!present.has(key)) d.declared.delete(key)
  }

  /** Waits only when there is no listing at all; a stale one is refreshed in the background. */
  async function current(d: Discovery): Promise<void> {
    if (d.listedAt === Number.NEGATIVE_INFINITY) return refresh(d)
    if (now() - d.listedAt >= d.config.discoveryTtlMs) refresh(d).catch(() => undefined)
  }

  return {
    async list() {
      await Promise.all(discoveries.map(current))
      const all = new Map<string, NamedModel>()
      for (const d of discoveries) for (const [name, m] of d.models) if (!all.has(name)) all.set(name, m)
      for (const [name, m] of explicit) all.set(name, m)
      return [...all.values()].map(toModelView).sort((a, b) => a.name.localeCompare(b.name))
    },

    async get(name) {
      const m = explicit.get(name)
      if (m !== undefined) return m
      for (const d of discoveries) {
        await current(d)
        let found = d.models.get(name)
        if (found === undefined && now() - d.listedAt >= MISS_REFRESH_MS) {
          // A new artifact may have landed since the listing: look again (rate-limited). If S3 cannot
          // say, the answer is its 503/504, not a 404 for a model that may well exist.
          await refresh(d)
          found = d.models.get(name)
        }
        if (found !== undefined) return found
      }
      throw errors.modelNotFound(name)
    },
  }
}
