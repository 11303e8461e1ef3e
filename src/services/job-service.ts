import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { AsyncModelConfig } from '../config.js'
import type { InferenceRuntime } from '../clients/inference-runtime.js'
import type { ObjectStore } from '../clients/object-store.js'
import { AppError, errors } from '../errors.js'
import { checkCustomAttributes } from '../lib/custom-attributes.js'
import { deadline } from '../lib/deadline.js'
import { isJobId, newJobId } from '../lib/ids.js'
import { isAcceptedType, parseMediaType, typeFromFilename } from '../lib/media-type.js'
import { formatS3Uri, parseS3Uri, type S3Location } from '../lib/s3-uri.js'
import { matchesSignature, SNIFF_BYTES } from '../lib/sniff.js'
import { Lru } from '../lib/lru.js'
import { createFreshCache } from '../lib/fresh-cache.js'
import { limitBody, peek, type ByteLimiter } from '../lib/streams.js'
import { deadlineMs, describeFailure, jobKeys, jobRecordSchema, tenantOf, type JobOwner, type JobRecord, type JobView } from './job-record.js'
import { evaluateConditions, needsHead, resultHeaders, type ResultAnswer, type ResultConditions } from './job-result.js'
import type { ModelRegistry, NamedModel } from './model-registry.js'

export interface JobServiceDeps {
  store: ObjectStore
  runtime: InferenceRuntime
  models: ModelRegistry
  storage: { bucket: string; prefix: string }
  logger: Logger
  /** Every S3 call of one status poll or result read together, retries included (aws.readBudgetMs). */
  readBudgetMs: number
  clock?: () => number
  /** Pending webhook deliveries (services/webhooks.ts): registered before the job is invoked. */
  webhooks?: { register(jobId: string, url: string, signal?: AbortSignal): Promise<void>; remove(jobId: string): Promise<void> }
  /** Told of each job created (metrics). */
  onJobCreated?: (model: string) => void
  /** Told of the bytes each streamed upload stored, or received before it failed (metrics). */
  onUploadBytes?: (bytes: number) => void
  /**
   * Told when this replica first sees a job in a final state (metrics), with the seconds since it was
   * created. Status is derived by whoever looks, so each replica that sees the end tells it once.
   */
  onJobFinished?: (model: string, outcome: string, seconds: number) => void
}

export interface CreateJobInput {
  model: NamedModel & AsyncModelConfig
  body: Readable
  contentType: string | undefined
  /** Content-Length of a raw body, when the client sent one. */
  declaredLength?: number
  customAttributes?: string
  filename?: string
  /**
   * Stops the upload: the client went away, its body went silent, the gateway is draining. Its reason
   * (an AppError) is what createJob throws; whatever was stored is removed first.
   */
  signal: AbortSignal
  /** Runs once the body is stored, before the job starts (multipart: checks nothing follows the file). */
  afterBody?: () => Promise<void>
  /** Runs once the request is accepted, before the first byte of the body is read (100 Continue). */
  beforeRead?: () => void
  /** Who makes the job: it belongs to the tenant; the key id is kept for the record. */
  owner: JobOwner
  /** A callback URL already checked against webhooks.allowedHosts (webhooks.checkUrl). */
  webhookUrl?: string
}

export interface StartJobInput {
  id: string
  model: NamedModel & AsyncModelConfig
  /** Checked already (accepted by the model, ASCII, ≤ 1024). */
  contentType: string
  sizeBytes: number
  filename?: string
  customAttributes?: string
  owner: JobOwner
  signal: AbortSignal
  /** A callback URL already checked against webhooks.allowedHosts. */
  webhookUrl?: string
}

export interface ResultHead {
  statusCode: 200 | 206 | 304
  headers: Record<string, string>
}

export interface ResultStream extends ResultHead {
  /** Absent for a 304. */
  body?: Readable
}

const MAX_RECORD_BYTES = 64 * 1024
const MAX_FAILURE_BYTES = 16 * 1024
/** Jobs whose state can no longer change (completed, or failed/expired as the runtime wrote it). */
const TERMINAL_CACHE_SIZE = 10_000
/**
 * How long a cached terminal state is served without looking at S3 again: a job deleted through
 * another replica is reported by this one for at most this long.
 */
const TERMINAL_CACHE_TTL_MS = 30_000
/**
 * How long one read of a job's status answers every poll of it (in progress, or gone): polls of one
 * job within this share a record read and two HEADs. A client that must know at once waits instead.
 */
const STATUS_FRESH_MS = 1_000

export function createJobService(deps: JobServiceDeps) {
  const { store, runtime, storage, logger } = deps
  const now = deps.clock ?? Date.now
  const loc = (key: string): S3Location => ({ bucket: storage.bucket, key })
  // Spares S3 round trips on repeated polls of finished jobs; never holds a state that may change.
  const terminalCache = new Lru<string, { tenant: string; view: JobView; at: number }>(TERMINAL_CACHE_SIZE)
  const terminal = {
    get: (id: string) => {
      const hit = terminalCache.get(id)
      return hit !== undefined && now() - hit.at < TERMINAL_CACHE_TTL_MS ? hit : undefined
    },
    set: (id: string, entry: { tenant: string; view: JobView }) => terminalCache.set(id, { ...entry, at: now() }),
    forget: (id: string) => terminalCache.delete(id),
  }
  const finishedSeen = new Lru<string, true>(TERMINAL_CACHE_SIZE)
  const recent = createFreshCache<string, { tenant: string; view: JobView }>({ ttlMs: STATUS_FRESH_MS, max: TERMINAL_CACHE_SIZE, ...(deps.clock ? { clock: deps.clock } : {}) })
  // Records of jobs being watched (statusOf): written once, so a watcher's checks need only the two
  // HEADs of the outcome. Only a cancel rewrites a record: read again before an end is reported.
  const records = new Lru<string, JobRecord>(TERMINAL_CACHE_SIZE)
  /** The job's end, told once per replica (as long as it is remembered among the last TERMINAL_CACHE_SIZE). */
  const ended = (record: JobRecord, v: JobView): JobView => {
    if (finishedSeen.get(record.id) === undefined) {
      finishedSeen.set(record.id, true)
      deps.onJobFinished?.(record.model, v.status, (now() - Date.parse(record.createdAt)) / 1000)
    }
    return v
  }

  async function asyncModel(name: string): Promise<NamedModel & AsyncModelConfig> {
    const model = await deps.models.get(name)
    if (model.mode !== 'async') throw errors.wrongMode(name, model.mode)
    return model
  }

  async function createJob(input: CreateJobInput): Promise<JobView> {
    const { model, signal } = input
    const media = parseMediaType(input.contentType)
    if (media === undefined || !isAcceptedType(media.essence, model.contentTypes)) {
      throw errors.unsupportedMediaType(input.contentType, model.contentTypes)
    }
    // SageMaker's ContentType: at most 1024 ASCII characters.
    const contentType = input.contentType!.trim()
    if (contentType.length > 1024 || !/^[\x20-\x7e]*$/.test(contentType)) throw errors.badRequest('The Content-Type is too long or not ASCII.')
    if (input.declaredLength !== undefined && input.declaredLength > model.maxBytes) throw errors.payloadTooLarge(model.maxBytes)
    if (input.customAttributes !== undefined) {
      const problem = checkCustomAttributes(input.customAttributes)
      if (problem !== undefined) throw errors.invalidCustomAttributes(problem)
    }
    let limited: ByteLimiter | undefined
    const stopped = (): Error => stopReason(signal, limited?.bytes ?? 0)
    // Failing the limiter (never the request itself) stops the upload, aborts its multipart upload
    // and still lets the gateway answer on the same connection.
    const stop = () => limited?.destroy(stopped())
    signal.addEventListener('abort', stop, { once: true })
    input.beforeRead?.()
    try {
      const { head, body } = await peek(input.body, SNIFF_BYTES, signal).catch((err: unknown) => {
        throw signal.aborted ? stopped() : err
      })
      if (head.length === 0) throw errors.emptyBody()
      if (matchesSignature(media.essence, head) === false) throw errors.contentMismatch(media.essence)

      const id = newJobId()
      const keys = jobKeys(storage.prefix, id)
      limited = limitBody(body, model.maxBytes, () => errors.payloadTooLarge(model.maxBytes))
      const counting = limited
      await store
        .upload(loc(keys.input), limited, { contentType, metadata: { 'sagegate-job-id': id }, ...(input.declaredLength !== undefined ? { expectedBytes: input.declaredLength } : {}) })
        .finally(() => deps.onUploadBytes?.(counting.bytes))
      const sizeBytes = limited.bytes
      // From here on the input exists: every failure must remove it so nothing dangles.
      const cleanup = async (err: unknown): Promise<never> => {
        await store.discard(loc(keys.input))
        throw err
      }
      if (input.afterBody !== undefined) await input.afterBody().catch(cleanup)
      if (signal.aborted) await cleanup(stopped())
      // The client left (or the drain deadline passed) while the job was being started: nobody will
      // learn its id. SageMaker has no cancel, but without its input the job fails at once, and no
      // record makes it a job of the gateway's.
      return await startJob({
        id,
        model,
        contentType,
        sizeBytes,
        ...(input.filename ? { filename: input.filename } : {}),
        ...(input.customAttributes !== undefined ? { customAttributes: input.customAttributes } : {}),
        ...(input.webhookUrl !== undefined ? { webhookUrl: input.webhookUrl } : {}),
        owner: input.owner,
        signal,
      }).catch(cleanup)
    } catch (err) {
      // However the upload ended (the limiter failed, the body closed early), a stop has one cause.
      throw signal.aborted ? stopped() : err
    } finally {
      signal.removeEventListener('abort', stop)
    }
  }

  /**
   * Starts the job whose input is already stored at the job's input key (a streamed upload, or a
   * resumable one that has just completed): invokes the async endpoint, then writes the record. It
   * does not remove the input when it fails: the caller decides (a streamed upload discards it; a
   * resumable one keeps it so that the client's retry can start the job without sending it again).
   */
  async function startJob(input: StartJobInput): Promise<JobView> {
    const { id, model, contentType, signal } = input
    const keys = jobKeys(storage.prefix, id)
    // The delivery is pending before the job can end, so no outcome is ever missed; a job that then
    // fails to start leaves a delivery without a record, which the webhook sweep removes.
    if (input.webhookUrl !== undefined) {
      if (deps.webhooks === undefined) throw errors.webhookNotAllowed('webhooks are not configured')
      await deps.webhooks.register(id, input.webhookUrl, signal)
    }
    const invoked = await runtime.invokeAsync(
      {
        endpointName: model.endpointName,
        inputLocation: formatS3Uri(loc(keys.input)),
        contentType,
        ...(model.accept !== undefined ? { accept: model.accept } : {}),
        ...(input.customAttributes !== undefined ? { customAttributes: input.customAttributes } : {}),
        inferenceId: id,
        ttlSeconds: model.ttlSeconds,
        invocationTimeoutSeconds: model.invocationTimeoutSeconds,
      },
      signal,
    )
    // The caller stopped (its client left, the drain deadline passed) while the job was invoked: no
    // record makes it a job of the gateway's (the caller removes the input, or starts it again later).
    if (signal.aborted) throw signal.reason as Error
    const record: JobRecord = {
      version: 1,
      id,
      model: model.name,
      endpointName: model.endpointName,
      createdAt: new Date(now()).toISOString(),
      input: { location: formatS3Uri(loc(keys.input)), contentType, sizeBytes: input.sizeBytes, ...(input.filename ? { filename: input.filename } : {}) },
      outputLocation: invoked.outputLocation,
      ...(invoked.failureLocation !== undefined ? { failureLocation: invoked.failureLocation } : {}),
      ...(model.accept !== undefined ? { accept: model.accept } : {}),
      ttlSeconds: model.ttlSeconds,
      invocationTimeoutSeconds: model.invocationTimeoutSeconds,
      owner: input.owner,
    }
    await store.putSmall(loc(keys.record), JSON.stringify(record), 'application/json').catch((err: unknown) => {
      // The invocation is already queued and SageMaker has no cancel API; without its record the
      // job cannot be followed, so the caller removes the input (the invocation will fail) or retries.
      logger.error({ err, jobId: id }, 'job invoked but its record could not be written')
      throw err
    })
    logger.info({ jobId: id, model: model.name, sizeBytes: input.sizeBytes }, 'job created')
    deps.onJobCreated?.(model.name)
    return view(record, { status: 'in_progress' })
  }

  /** Whether the job's record exists (the job was started), within the read budget. */
  async function jobExists(id: string, signal?: AbortSignal): Promise<boolean> {
    const limit = deadline(deps.readBudgetMs, signal)
    try {
      return (await store.head(loc(jobKeys(storage.prefix, id).record), limit.signal)) !== undefined
    } finally {
      limit.clear()
    }
  }

  /** The job's record, if it exists and belongs to the tenant: another tenant's job is a 404 like a missing one. */
  async function readRecord(id: string, tenant: string, signal: AbortSignal): Promise<JobRecord> {
    const record = await findRecord(id, signal)
    if (record === undefined || tenantOf(record) !== tenant) throw errors.jobNotFound()
    return record
  }

  /** The job's record, whoever owns it; undefined when there is none. */
  async function findRecord(id: string, signal: AbortSignal): Promise<JobRecord | undefined> {
    if (!isJobId(id)) return undefined
    const text = await store.readText(loc(jobKeys(storage.prefix, id).record), MAX_RECORD_BYTES, signal)
    if (text === undefined) return undefined
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (err) {
      throw errors.corruptJobRecord(err)
    }
    const parsed = jobRecordSchema.safeParse(json)
    if (!parsed.success) throw errors.corruptJobRecord(parsed.error)
    return parsed.data
  }

  function location(uri: string): S3Location {
    const l = parseS3Uri(uri)
    if (l === undefined) throw errors.corruptJobRecord(new Error(`bad location ${uri}`))
    return l
  }

  /** The job's status, derived from its output and failure objects and the clock. */
  async function outcomeOf(record: JobRecord, signal: AbortSignal): Promise<JobView> {
    if (record.canceledAt !== undefined) return view(record, { status: 'canceled' })
    const [output, failure] = await Promise.all([
      store.head(location(record.outputLocation), signal),
      record.failureLocation !== undefined ? store.head(location(record.failureLocation), signal) : undefined,
    ])
    if (output !== undefined) {
      const done = view(record, { status: 'completed', result: { contentType: output.contentType ?? 'application/octet-stream', sizeBytes: output.sizeBytes } })
      terminal.set(record.id, { tenant: tenantOf(record), view: done })
      return ended(record, done)
    }
    if (failure !== undefined && record.failureLocation !== undefined) {
      // Already read and logged (a result request of a failed job also comes this way).
      const known = terminal.get(record.id)?.view
      if (known?.error !== undefined) return known
      const text = (await store.readText(location(record.failureLocation), MAX_FAILURE_BYTES, signal)) ?? ''
      const f = describeFailure(text)
      // The client gets the code's fixed summary; the model's own text (clipped, no control
      // characters) is for the operator, logged on the first read only: later polls hit the cache.
      logger.warn(
        { jobId: record.id, model: record.model, code: f.code, modelMessage: f.modelMessage, ...(f.modelErrorCode !== undefined ? { modelErrorCode: f.modelErrorCode } : {}) },
        f.expired ? 'job expired' : 'job failed',
      )
      // The runtime wrote it: the job cannot change any more (an output appearing later is not
      // expected once a failure is written). Expiry read from S3 is as final as a failure.
      const failed = view(record, { status: f.expired ? 'expired' : 'failed', error: { code: f.code, message: f.message } })
      terminal.set(record.id, { tenant: tenantOf(record), view: failed })
      return ended(record, failed)
    }
    // Derived from the clock only: not cached, so an output that still appears wins.
    if (now() > deadlineMs(record)) return ended(record, view(record, { status: 'expired', error: { code: 'Expired', message: 'The job produced no result before its deadline.' } }))
    return view(record, { status: 'in_progress' })
  }

  /** The job's view whoever owns it (watchers, webhooks), within the read budget; undefined when it has no record. */
  async function statusOf(id: string, clientSignal?: AbortSignal): Promise<JobView | undefined> {
    const cached = terminal.get(id)
    if (cached !== undefined) return cached.view
    const d = deadline(deps.readBudgetMs, clientSignal)
    try {
      const known = records.get(id)
      const record = known ?? (await findRecord(id, d.signal))
      if (record === undefined) return undefined
      const outcome = await outcomeOf(record, d.signal)
      if (outcome.status === 'in_progress') {
        records.set(id, record)
        return outcome
      }
      records.delete(id)
      if (known === undefined) return outcome
      // The end of a job whose record was remembered: it may have been canceled or deleted since.
      const current = await findRecord(id, d.signal)
      if (current === undefined) return undefined
      return current.canceledAt !== undefined ? view(current, { status: 'canceled' }) : outcome
    } finally {
      d.clear()
    }
  }

  /**
   * The job's view if memory has it (a final state, or a read of the last second), else undefined:
   * no S3 call, no promise. Another tenant's job is a 404 here too.
   */
  function peekJob(id: string, tenant: string): JobView | undefined {
    const known = terminal.get(id) ?? recent.peek(id)
    if (known === undefined) return undefined
    if (known.tenant !== tenant) throw errors.jobNotFound()
    return known.view
  }

  async function getJob(id: string, tenant: string, clientSignal?: AbortSignal): Promise<JobView> {
    const cached = terminal.get(id)
    if (cached !== undefined) {
      if (cached.tenant !== tenant) throw errors.jobNotFound()
      return cached.view
    }
    if (!isJobId(id)) throw errors.jobNotFound()
    // Clients polling one job share one read of S3, and its answer for STATUS_FRESH_MS.
    const found = await recent.get(
      id,
      async () => {
        const d = deadline(deps.readBudgetMs)
        try {
          const record = await findRecord(id, d.signal)
          // Thrown, not kept: a job whose record is not there yet (a resumable upload about to
          // start it) must be found by the next poll.
          if (record === undefined) throw errors.jobNotFound()
          return { tenant: tenantOf(record), view: await outcomeOf(record, d.signal) }
        } finally {
          d.clear()
        }
      },
      clientSignal,
    )
    if (found.tenant !== tenant) throw errors.jobNotFound()
    return found.view
  }

  /**
   * The record and its output location. `noOutput` is called when the output was not found: it
   * throws the 409 that says why (the job's state), or returns when the job has completed since (its
   * output appeared between the two looks), so that the caller looks once more; a second miss is S3's
   * fault, a 503.
   */
  async function resultOf(id: string, tenant: string, signal: AbortSignal) {
    const record = await readRecord(id, tenant, signal)
    let misses = 0
    const noOutput = async (): Promise<void> => {
      const status = (await outcomeOf(record, signal)).status
      if (status !== 'completed') throw errors.notCompleted(status)
      if (misses++ > 0) throw errors.upstreamUnavailable('Storage', 1, new Error(`the output of job ${id} is reported and then missing`))
    }
    return { output: location(record.outputLocation), noOutput }
  }

  /** Headers of the result (HEAD): the record, then one HEAD of the output; no result byte is read. */
  async function headResult(id: string, tenant: string, conditions: ResultConditions, clientSignal?: AbortSignal): Promise<ResultHead> {
    const d = deadline(deps.readBudgetMs, clientSignal)
    try {
      const { output, noOutput } = await resultOf(id, tenant, d.signal)
      for (;;) {
        const info = await store.head(output, d.signal)
        if (info === undefined) {
          await noOutput()
          continue
        }
        const answer = evaluateConditions(info, conditions)
        return { statusCode: answer.status, headers: resultHeaders(id, info, answer) }
      }
    } finally {
      d.clear()
    }
  }

  async function openResult(id: string, tenant: string, conditions: ResultConditions, clientSignal?: AbortSignal): Promise<ResultStream> {
    // The budget covers everything up to the first byte; the body then streams for as long as the
    // client reads it (a stalled S3 is caught by the store's stall watch, a stalled client by the route's).
    const d = deadline(deps.readBudgetMs, clientSignal)
    try {
      const { output, noOutput } = await resultOf(id, tenant, d.signal)
      for (;;) {
        // A range needs the size first (suffix ranges, 416 with the size), If-None-Match the ETag (a
        // 304 reads no body); an unconditional whole read is one GET.
        let answer: ResultAnswer = { status: 200 }
        if (needsHead(conditions)) {
          const info = await store.head(output, d.signal)
          if (info === undefined) {
            await noOutput()
            continue
          }
          answer = evaluateConditions(info, conditions)
          if (answer.status === 304) return { statusCode: 304, headers: resultHeaders(id, info, answer) }
        }
        const got = await store.get(output, { ...(answer.status === 206 ? { range: answer.range } : {}), signal: d.signal })
        if (got === undefined) {
          await noOutput()
          continue
        }
        return { statusCode: answer.status, headers: resultHeaders(id, got, answer), body: got.body }
      }
    } finally {
      d.clear()
    }
  }

  return {
    asyncModel,
    createJob,
    startJob,
    jobExists,
    getJob,
    peekJob,
    statusOf,
    headResult,
    openResult,
    /** For job removal (job-removal.ts): the record as stored, its derived outcome, the cache. */
    internals: {
      readRecord,
      findRecord,
      outcomeOf,
      forget: (id: string) => {
        terminal.forget(id)
        records.delete(id)
        recent.forget(id)
      },
      view,
    },
  }
}

/** Why an upload was stopped: the signal's reason (an AppError), the bytes received noted for a client that left. */
function stopReason(signal: AbortSignal, bytesReceived: number): Error {
  const reason: unknown = signal.reason
  if (reason instanceof AppError && reason.code === 'client_closed_request') return errors.clientClosed(bytesReceived)
  return reason instanceof Error ? reason : errors.clientClosed(bytesReceived)
}

export type JobService = ReturnType<typeof createJobService>

function view(record: JobRecord, outcome: Pick<JobView, 'status' | 'result' | 'error'>): JobView {
  return {
    id: record.id,
    model: record.model,
    status: outcome.status,
    createdAt: record.createdAt,
    deadlineAt: new Date(deadlineMs(record)).toISOString(),
    input: { contentType: record.input.contentType, sizeBytes: record.input.sizeBytes, ...(record.input.filename ? { filename: record.input.filename } : {}) },
    ...(outcome.result !== undefined ? { result: outcome.result } : {}),
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    ...(record.canceledAt !== undefined ? { canceledAt: record.canceledAt } : {}),
    links: { self: `/jobs/${record.id}`, result: `/jobs/${record.id}/result` },
  }
}

/**
 * The content type of an upload whose bytes the gateway does not see first (resumable and
 * direct-to-S3 uploads): the declared type, or — when none was declared, or
 * application/octet-stream that the model does not take as such — the file name's extension's.
 * It must be one the model accepts (415) and fit SageMaker's ContentType (≤ 1024 ASCII, 400).
 */
export function declaredUploadType(declared: string | undefined, filename: string | undefined, accepted: readonly string[]): string {
  let type = declared
  const essence = parseMediaType(type)?.essence
  if ((essence === undefined || essence === 'application/octet-stream') && !isAcceptedType(essence ?? '', accepted)) type = typeFromFilename(filename) ?? type
  const media = parseMediaType(type)
  if (type === undefined || media === undefined || !isAcceptedType(media.essence, accepted)) throw errors.unsupportedMediaType(type, accepted)
  if (type.length > 1024 || !/^[\x20-\x7e]*$/.test(type)) throw errors.badRequest('The type is too long or not ASCII.')
  return type.trim()
}
