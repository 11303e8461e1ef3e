import { z } from 'zod'
import type { ObjectStore } from '../clients/object-store.js'
import { deadline } from '../lib/deadline.js'

/**
 * A job's pending webhook delivery, kept in S3 so that any replica can carry it on (a restart, a
 * scale-in): `jobs/<id>/webhook.json` next to the job, and an empty marker `webhooks/pending/<id>` so
 * that a replica finds every pending delivery with one LIST instead of listing every job. Every
 * change after the first write is an S3 conditional write over the ETag that was read, so two
 * replicas cannot both move a delivery on.
 */
export const webhookDocSchema = z.object({
  version: z.literal(1),
  jobId: z.string(),
  url: z.string(),
  /** Standard Webhooks `webhook-id`: the same on every attempt, so that a receiver can drop duplicates. */
  webhookId: z.string(),
  createdAt: z.iso.datetime(),
  /** waiting: the job has not ended; retrying: an attempt failed; failed: retries are over (kept for inspection). */
  state: z.enum(['waiting', 'retrying', 'failed']),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: z.iso.datetime(),
  /** While the job runs: the interval of the next look (doubling). */
  checkIntervalMs: z.number().int().positive().optional(),
  /** Retries stop retryForMs after this; also the payload's timestamp, so every attempt sends the same body. */
  firstAttemptAt: z.iso.datetime().optional(),
  lastError: z.string().optional(),
  lastStatus: z.number().int().optional(),
  /** The replica running an attempt, until when; `token` recognises its own claim after an SDK retry. */
  lease: z.object({ owner: z.string(), token: z.string(), until: z.iso.datetime() }).optional(),
})
export type WebhookDoc = z.infer<typeof webhookDocSchema>

const MAX_DOC_BYTES = 16 * 1024

/** The document after a failed attempt: retrying at `nextAttemptAt`, or failed when there is none; the lease released. */
export function afterFailedAttempt(
  doc: WebhookDoc,
  o: { firstAttemptAt: string; nextAttemptAt: number | undefined; now: number; error: string | undefined; status: number | undefined },
): WebhookDoc {
  const { lease: _lease, lastStatus: _status, lastError: _error, ...rest } = doc
  return {
    ...rest,
    attempts: doc.attempts + 1,
    firstAttemptAt: o.firstAttemptAt,
    state: o.nextAttemptAt === undefined ? 'failed' : 'retrying',
    nextAttemptAt: new Date(o.nextAttemptAt ?? o.now).toISOString(),
    ...(o.error !== undefined ? { lastError: o.error } : {}),
    ...(o.status !== undefined ? { lastStatus: o.status } : {}),
  }
}

export interface DocStoreOptions {
  store: ObjectStore
  storage: { bucket: string; prefix: string }
  /** Each S3 call's deadline. */
  callTimeoutMs: number
}

export const webhookDocKey = (prefix: string, jobId: string) => `${prefix}jobs/${jobId}/webhook.json`
export const pendingMarkersPrefix = (prefix: string) => `${prefix}webhooks/pending/`

/** The S3 side of deliveries: documents and markers, each call under its own deadline. */
export function createWebhookDocStore(o: DocStoreOptions) {
  const { store, storage } = o
  const docLoc = (jobId: string) => ({ bucket: storage.bucket, key: webhookDocKey(storage.prefix, jobId) })
  const markerLoc = (jobId: string) => ({ bucket: storage.bucket, key: `${pendingMarkersPrefix(storage.prefix)}${jobId}` })

  async function timed<T>(fn: (signal: AbortSignal) => Promise<T>, parent?: AbortSignal): Promise<T> {
    const d = deadline(o.callTimeoutMs, parent)
    try {
      return await fn(d.signal)
    } finally {
      d.clear()
    }
  }

  return {
    /** The document and its ETag; undefined when there is none; `corrupt` when it does not parse (or came without an ETag). */
    async read(jobId: string): Promise<{ doc: WebhookDoc; etag: string } | { corrupt: true } | undefined> {
      const got = await timed((s) => store.readSmall(docLoc(jobId), MAX_DOC_BYTES, s))
      if (got === undefined) return undefined
      try {
        const parsed = webhookDocSchema.safeParse(JSON.parse(got.text))
        if (parsed.success && got.etag !== undefined) return { doc: parsed.data, etag: got.etag }
      } catch {
        // falls through: corrupt
      }
      return { corrupt: true }
    },
    /** A conditional write: the new ETag, or undefined when the condition failed (another writer won). */
    write: (doc: WebhookDoc, condition: { ifNoneMatch: '*' } | { ifMatch: string }, signal?: AbortSignal) =>
      timed((s) => store.putIf(docLoc(doc.jobId), JSON.stringify(doc), 'application/json', condition, s), signal),
    mark: (jobId: string, signal?: AbortSignal) => timed((s) => store.putSmall(markerLoc(jobId), Buffer.alloc(0), 'application/octet-stream', s), signal),
    /** The document first, then the marker: a marker left alone by a crash is removed by the next sweep. */
    async remove(jobId: string): Promise<void> {
      await store.discard(docLoc(jobId))
      await store.discard(markerLoc(jobId))
    },
    unmark: (jobId: string) => store.discard(markerLoc(jobId)),
    /** The job ids with a pending delivery, at most `max`. */
    async pendingIds(max: number): Promise<string[]> {
      const prefix = pendingMarkersPrefix(storage.prefix)
      const listed = await timed((s) => store.list(storage.bucket, prefix, max, s))
      return listed.map((l) => l.key.slice(prefix.length)).filter((id) => id !== '' && !id.includes('/'))
    },
  }
}

export type WebhookDocStore = ReturnType<typeof createWebhookDocStore>
