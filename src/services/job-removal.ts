import type { Logger } from 'pino'
import type { ObjectStore } from '../clients/object-store.js'
import { deadline } from '../lib/deadline.js'
import { describeError } from '../lib/describe-error.js'
import { createPeriodic } from '../lib/periodic.js'
import { parseS3Uri, type S3Location } from '../lib/s3-uri.js'
import { deadlineMs, jobKeys, type JobRecord, type JobView } from './job-record.js'
import type { JobService } from './job-service.js'

export interface JobRemovalDeps {
  store: ObjectStore
  jobs: JobService
  storage: { bucket: string; prefix: string }
  logger: Logger
  readBudgetMs: number
  webhooks?: { remove(jobId: string): Promise<void> }
  clock?: () => number
  /** Told of each job canceled (metrics: a finished job whose outcome is `canceled`), with its age in seconds. */
  onCanceled?: (model: string, seconds: number) => void
}

/** What DELETE did: everything is gone, or the job was in progress and is now canceled. */
export type Removal = { kind: 'removed' } | { kind: 'canceled'; view: JobView }

/** At most this many objects under a job's own prefix (input, record, upload state, webhook). */
const MAX_JOB_OBJECTS = 100
/** How often each replica looks for canceled jobs whose data can go (one LIST of the markers). */
const CANCELED_SWEEP_MS = 60_000
const MAX_CANCELED_LISTED = 1000

/**
 * DELETE /jobs/{id}. A job that has ended loses everything: its output, its failure object, the
 * objects under its own prefix (input, upload state, pending webhook) and, last, its record — the
 * record going is what makes it a 404. SageMaker has no cancel for an async invocation, so a job in
 * progress is canceled at best effort: its input is removed (a queued invocation then fails to read
 * it), its record is rewritten once with `canceledAt` (status `canceled`), and a marker under
 * `<prefix>canceled/` names it: its data goes once the endpoint has given up on it (an outcome is
 * written, or its deadline passed), found by a later DELETE, a status read (`purgeIfSettled`), or
 * every replica's sweep of the markers each minute.
 */
export function createJobRemoval(deps: JobRemovalDeps) {
  const { store, storage, jobs, logger } = deps
  const now = deps.clock ?? Date.now
  const loc = (key: string): S3Location => ({ bucket: storage.bucket, key })
  const markerKey = (id: string) => `${storage.prefix}canceled/${id}`
  const at = (uri: string | undefined): S3Location[] => {
    const l = uri === undefined ? undefined : parseS3Uri(uri)
    return l === undefined ? [] : [l]
  }

  async function removeAll(record: JobRecord, signal: AbortSignal): Promise<void> {
    const keys = jobKeys(storage.prefix, record.id)
    await deps.webhooks?.remove(record.id)
    const own = (await store.list(storage.bucket, keys.folder, MAX_JOB_OBJECTS, signal)).map((o) => loc(o.key)).filter((l) => l.key !== keys.record)
    await Promise.all([...at(record.outputLocation), ...at(record.failureLocation), ...own].map((l) => store.delete(l, signal)))
    // Last: while the record exists, a failed removal can be retried by the client.
    await store.delete(loc(keys.record), signal)
    if (record.canceledAt !== undefined) await store.delete(loc(markerKey(record.id)), signal)
    jobs.internals.forget(record.id)
    logger.info({ jobId: record.id, model: record.model }, 'job deleted')
  }

  async function remove(id: string, tenant: string, clientSignal?: AbortSignal): Promise<Removal> {
    const d = deadline(deps.readBudgetMs, clientSignal)
    try {
      const record = await jobs.internals.readRecord(id, tenant, d.signal)
      if (record.canceledAt !== undefined) {
        if (await settled(record, d.signal)) {
          await removeAll(record, d.signal)
          return { kind: 'removed' }
        }
        return { kind: 'canceled', view: jobs.internals.view(record, { status: 'canceled' }) }
      }
      const outcome = await jobs.internals.outcomeOf(record, d.signal)
      if (outcome.status !== 'in_progress') {
        await removeAll(record, d.signal)
        return { kind: 'removed' }
      }
      const canceled: JobRecord = { ...record, canceledAt: new Date(now()).toISOString() }
      await deps.webhooks?.remove(record.id)
      await store.delete(loc(jobKeys(storage.prefix, id).input), d.signal)
      // The marker first: a canceled record is always found by the sweep.
      await store.putSmall(loc(markerKey(id)), '', 'application/octet-stream', d.signal)
      await store.putSmall(loc(jobKeys(storage.prefix, id).record), JSON.stringify(canceled), 'application/json', d.signal)
      jobs.internals.forget(id)
      logger.info({ jobId: id, model: record.model }, 'job canceled')
      deps.onCanceled?.(record.model, (now() - Date.parse(record.createdAt)) / 1000)
      return { kind: 'canceled', view: jobs.internals.view(canceled, { status: 'canceled' }) }
    } finally {
      d.clear()
    }
  }

  /**
   * A canceled job is settled once the endpoint wrote its outcome (it has given up on it), or its
   * deadline passed: looked up directly, so a cancel is never counted or logged as a completion or a failure.
   */
  async function settled(record: JobRecord, signal: AbortSignal): Promise<boolean> {
    if (now() > deadlineMs(record)) return true
    const found = await Promise.all([...at(record.outputLocation), ...at(record.failureLocation)].map((l) => store.head(l, signal)))
    return found.some((info) => info !== undefined)
  }

  /**
   * After a status read found a canceled job: remove its data once it is settled, in the background
   * (the read answers `canceled` this time; the next one a 404).
   */
  function purgeIfSettled(id: string): void {
    void (async () => {
      const d = deadline(deps.readBudgetMs)
      try {
        const record = await jobs.internals.findRecord(id, d.signal)
        if (record?.canceledAt !== undefined && (await settled(record, d.signal))) await removeAll(record, d.signal)
      } finally {
        d.clear()
      }
    })().catch((err: unknown) => logger.warn({ err, jobId: id }, 'could not remove a canceled job yet'))
  }

  /** Removes the data of every canceled job that has settled; a marker without a record goes too. */
  async function sweepCanceled(): Promise<void> {
    const d = deadline(deps.readBudgetMs * 4)
    try {
      for (const { key } of await store.list(storage.bucket, `${storage.prefix}canceled/`, MAX_CANCELED_LISTED, d.signal)) {
        const id = key.slice(`${storage.prefix}canceled/`.length)
        const record = await jobs.internals.findRecord(id, d.signal)
        if (record === undefined) await store.delete(loc(key), d.signal)
        else if (await settled(record, d.signal)) await removeAll(record, d.signal)
      }
    } finally {
      d.clear()
    }
  }
  const sweeper = createPeriodic(sweepCanceled, CANCELED_SWEEP_MS, (err) => logger.warn({ error: describeError(err) }, 'sweep of canceled jobs failed; will retry'))

  return { remove, purgeIfSettled, sweepCanceled, start: () => sweeper.start(), stop: () => sweeper.stop() }
}

export type JobRemoval = ReturnType<typeof createJobRemoval>
