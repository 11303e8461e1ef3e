import type { Logger } from 'pino'
import type { ObjectStore } from '../clients/object-store.js'
import { deadline } from '../lib/deadline.js'
import { parseS3Uri, type S3Location } from '../lib/s3-uri.js'
import { jobKeys, type JobRecord, type JobView } from './job-record.js'
import type { JobService } from './job-service.js'

export interface JobRemovalDeps {
  store: ObjectStore
  jobs: JobService
  storage: { bucket: string; prefix: string }
  logger: Logger
  readBudgetMs: number
  webhooks?: { remove(jobId: string): Promise<void> }
  clock?: () => number
}

/** What DELETE did: everything is gone, or the job was in progress and is now canceled. */
export type Removal = { kind: 'removed' } | { kind: 'canceled'; view: JobView }

/** At most this many objects under a job's own prefix (input, record, upload state, webhook). */
const MAX_JOB_OBJECTS = 100

/**
 * DELETE /jobs/{id}. A job that has ended loses everything: its output, its failure object, the
 * objects under its own prefix (input, upload state, pending webhook) and, last, its record — the
 * record going is what makes it a 404. SageMaker has no cancel for an async invocation, so a job in
 * progress is canceled at best effort: its input is removed (a queued invocation then fails to read
 * it), its record is rewritten once with `canceledAt` (status `canceled`), and its data goes when a
 * later DELETE or status read finds the endpoint has given up on it (see `purgeIfSettled`).
 */
export function createJobRemoval(deps: JobRemovalDeps) {
  const { store, storage, jobs, logger } = deps
  const now = deps.clock ?? Date.now
  const loc = (key: string): S3Location => ({ bucket: storage.bucket, key })
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
      await store.putSmall(loc(jobKeys(storage.prefix, id).record), JSON.stringify(canceled), 'application/json', d.signal)
      jobs.internals.forget(id)
      logger.info({ jobId: id, model: record.model }, 'job canceled')
      return { kind: 'canceled', view: jobs.internals.view(canceled, { status: 'canceled' }) }
    } finally {
      d.clear()
    }
  }

  /** A canceled job is settled once the endpoint wrote its outcome (it has given up on it), or its deadline passed. */
  async function settled(record: JobRecord, signal: AbortSignal): Promise<boolean> {
    const { canceledAt: _, ...asInvoked } = record
    const derived = await jobs.internals.outcomeOf(asInvoked, signal)
    return derived.status !== 'in_progress'
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

  return { remove, purgeIfSettled }
}

export type JobRemoval = ReturnType<typeof createJobRemoval>
