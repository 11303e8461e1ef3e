import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { AsyncModelConfig } from '../config.js'
import type { InferenceRuntime } from '../clients/inference-runtime.js'
import type { ObjectStore } from '../clients/object-store.js'
import { AppError, errors } from '../errors.js'
import { checkCustomAttributes } from '../lib/custom-attributes.js'
import { isJobId, newJobId } from '../lib/ids.js'
import { isAcceptedType, parseMediaType } from '../lib/media-type.js'
import { parseRange, type RangeResult } from '../lib/range.js'
import { formatS3Uri, parseS3Uri, type S3Location } from '../lib/s3-uri.js'
import { matchesSignature, SNIFF_BYTES } from '../lib/sniff.js'
import { limitBody, peek } from '../lib/streams.js'
import { deadlineMs, describeFailure, jobKeys, jobRecordSchema, type JobRecord, type JobView } from './job-record.js'
import type { ModelRegistry, NamedModel } from './model-registry.js'

export interface JobServiceDeps {
  store: ObjectStore
  runtime: InferenceRuntime
  models: ModelRegistry
  storage: { bucket: string; prefix: string }
  logger: Logger
  clock?: () => number
}

export interface CreateJobInput {
  model: NamedModel & AsyncModelConfig
  body: Readable
  contentType: string | undefined
  /** Content-Length of a raw body, when the client sent one. */
  declaredLength?: number
  customAttributes?: string
  filename?: string
  /** Aborted when the client goes away. */
  signal: AbortSignal
  /** Runs once the body is stored, before the job starts (multipart: checks nothing follows the file). */
  afterBody?: () => Promise<void>
  /** Runs once the request is accepted, before the first byte of the body is read (100 Continue). */
  beforeRead?: () => void
}

export interface ResultStream {
  statusCode: 200 | 206
  headers: Record<string, string>
  body: Readable
}

const MAX_RECORD_BYTES = 64 * 1024
const MAX_FAILURE_BYTES = 16 * 1024

export function createJobService(deps: JobServiceDeps) {
  const { store, runtime, storage, logger } = deps
  const now = deps.clock ?? Date.now
  const loc = (key: string): S3Location => ({ bucket: storage.bucket, key })
  // Terminal states never change: keep recent ones to spare S3 round trips on repeated polls.
  const terminal = new Map<string, JobView>()
  const remember = (view: JobView) => {
    if (view.status === 'in_progress') return
    terminal.set(view.id, view)
    if (terminal.size > 10_000) terminal.delete(terminal.keys().next().value as string)
  }

  async function asyncModel(name: string): Promise<NamedModel & AsyncModelConfig> {
    const model = await deps.models.get(name)
    if (model.mode !== 'async') throw errors.wrongMode(name, model.mode, 'async')
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
    const abortBody = () => input.body.destroy(errors.clientClosed())
    signal.addEventListener('abort', abortBody, { once: true })
    input.beforeRead?.()
    try {
      const { head, body } = await peek(input.body, SNIFF_BYTES)
      if (head.length === 0) throw errors.emptyBody()
      if (matchesSignature(media.essence, head) === false) throw errors.contentMismatch(media.essence)

      const id = newJobId()
      const keys = jobKeys(storage.prefix, id)
      const limited = limitBody(body, model.maxBytes, () => errors.payloadTooLarge(model.maxBytes))
      await store.upload(loc(keys.input), limited, { contentType, metadata: { 'sagegate-job-id': id } })
      const sizeBytes = limited.bytes
      // From here on the input exists: every failure must remove it so nothing dangles.
      const cleanup = async (err: unknown): Promise<never> => {
        await store.delete(loc(keys.input)).catch((e: unknown) => logger.error({ err: e, jobId: id }, 'could not remove input'))
        throw err
      }
      if (input.afterBody !== undefined) await input.afterBody().catch(cleanup)
      if (signal.aborted) await cleanup(errors.clientClosed())
      const invoked = await runtime
        .invokeAsync(
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
        )
        .catch(cleanup)
      const record: JobRecord = {
        version: 1,
        id,
        model: model.name,
        endpointName: model.endpointName,
        createdAt: new Date(now()).toISOString(),
        input: { location: formatS3Uri(loc(keys.input)), contentType, sizeBytes, ...(input.filename ? { filename: input.filename } : {}) },
        outputLocation: invoked.outputLocation,
        ...(invoked.failureLocation !== undefined ? { failureLocation: invoked.failureLocation } : {}),
        ...(model.accept !== undefined ? { accept: model.accept } : {}),
        ttlSeconds: model.ttlSeconds,
        invocationTimeoutSeconds: model.invocationTimeoutSeconds,
      }
      await store.putSmall(loc(keys.record), JSON.stringify(record), 'application/json').catch((err: unknown) => {
        // The invocation is already queued and SageMaker has no cancel API; without its record the
        // job cannot be followed, so remove the input (the invocation will fail) and report it.
        logger.error({ err, jobId: id }, 'job invoked but its record could not be written')
        return cleanup(err)
      })
      logger.info({ jobId: id, model: model.name, sizeBytes }, 'job created')
      return view(record, { status: 'in_progress' })
    } finally {
      signal.removeEventListener('abort', abortBody)
    }
  }

  async function readRecord(id: string): Promise<JobRecord> {
    if (!isJobId(id)) throw errors.jobNotFound()
    const text = await store.readText(loc(jobKeys(storage.prefix, id).record), MAX_RECORD_BYTES)
    if (text === undefined) throw errors.jobNotFound()
    const parsed = jobRecordSchema.safeParse(JSON.parse(text))
    if (!parsed.success) throw new AppError('corrupt_job_record', 500, 'The job record is unreadable.', { cause: parsed.error })
    return parsed.data
  }

  function location(uri: string): S3Location {
    const l = parseS3Uri(uri)
    if (l === undefined) throw new AppError('corrupt_job_record', 500, 'The job record has a bad location.')
    return l
  }

  /** The job's status, derived from its output and failure objects and the clock. */
  async function outcomeOf(record: JobRecord): Promise<JobView> {
    const [output, failure] = await Promise.all([
      store.head(location(record.outputLocation)),
      record.failureLocation !== undefined ? store.head(location(record.failureLocation)) : undefined,
    ])
    let result: JobView
    if (output !== undefined) {
      result = view(record, { status: 'completed', result: { contentType: output.contentType ?? 'application/octet-stream', sizeBytes: output.sizeBytes } })
    } else if (failure !== undefined && record.failureLocation !== undefined) {
      const text = (await store.readText(location(record.failureLocation), MAX_FAILURE_BYTES)) ?? ''
      const f = describeFailure(text)
      result = view(record, { status: f.expired ? 'expired' : 'failed', error: { code: f.code, message: f.message } })
    } else if (now() > deadlineMs(record)) {
      result = view(record, { status: 'expired', error: { code: 'Expired', message: 'The job produced no result before its deadline.' } })
    } else {
      result = view(record, { status: 'in_progress' })
    }
    remember(result)
    return result
  }

  async function getJob(id: string): Promise<JobView> {
    return terminal.get(id) ?? outcomeOf(await readRecord(id))
  }

  async function openResult(id: string, rangeHeader: string | undefined): Promise<ResultStream> {
    const record = await readRecord(id)
    const output = location(record.outputLocation)
    const notCompleted = async () => errors.notCompleted((await outcomeOf(record)).status)
    // A range needs the size first (suffix ranges, 416 with the size); a whole read is one GET.
    let range: RangeResult = { kind: 'none' }
    let totalBytes: number | undefined
    if (rangeHeader !== undefined) {
      const info = await store.head(output)
      if (info === undefined) throw await notCompleted()
      range = parseRange(rangeHeader, info.sizeBytes)
      if (range.kind === 'unsatisfiable') throw errors.rangeNotSatisfiable(info.sizeBytes)
      totalBytes = info.sizeBytes
    }
    const got = await store.get(output, range.kind === 'range' ? { range } : {})
    if (got === undefined) throw await notCompleted()
    const headers: Record<string, string> = {
      'content-type': got.contentType ?? 'application/octet-stream',
      'content-length': String(got.sizeBytes),
      'accept-ranges': 'bytes',
    }
    if (got.etag !== undefined) headers.etag = got.etag
    if (got.lastModified !== undefined) headers['last-modified'] = got.lastModified.toUTCString()
    if (range.kind === 'range') headers['content-range'] = `bytes ${range.start}-${range.end}/${totalBytes}`
    return { statusCode: range.kind === 'range' ? 206 : 200, headers, body: got.body }
  }

  return { asyncModel, createJob, getJob, openResult }
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
    links: { self: `/jobs/${record.id}`, result: `/jobs/${record.id}/result` },
  }
}
