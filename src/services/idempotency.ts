import { createHash, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { ObjectStore } from '../clients/object-store.js'
import { errors } from '../errors.js'
import { deadline } from '../lib/deadline.js'
import type { S3Location } from '../lib/s3-uri.js'

/**
 * Idempotency-Key on POST /models/{name}/jobs (Stripe's model): the first request with a key makes
 * the job; a retry with the same key gets the same job back without its body being stored again.
 * The key lives in S3 next to the jobs, per tenant, as a small marker written with S3 conditional
 * writes, so that two replicas receiving the same retry cannot both start a job:
 * - `pending` while the first request uploads, its heartbeat renewed every HEARTBEAT_MS; a pending
 *   marker whose heartbeat is older than STALE_AFTER_MS belongs to a gateway that died mid-upload and
 *   may be taken over (a retry then uploads again);
 * - `done` with the job id once the job is started, kept for `ttlSeconds`;
 * - removed when the first request fails, so that the client can retry with the same key.
 */

const HEARTBEAT_MS = 60_000
const STALE_AFTER_MS = 3 * HEARTBEAT_MS
const MAX_MARKER_BYTES = 4096
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/

const markerSchema = z.object({
  version: z.literal(1),
  state: z.enum(['pending', 'done']),
  /** Which request wrote it (a retried conditional write can meet its own first attempt). */
  token: z.string(),
  model: z.string(),
  /** The request's Content-Length, when it had one. */
  requestBytes: z.number().int().nonnegative().optional(),
  jobId: z.string().optional(),
  createdAt: z.iso.datetime(),
  heartbeatAt: z.iso.datetime(),
})
type Marker = z.infer<typeof markerSchema>

export interface IdempotencyDeps {
  store: ObjectStore
  storage: { bucket: string; prefix: string }
  ttlSeconds: number
  /** Every S3 call of one claim together (aws.readBudgetMs). */
  readBudgetMs: number
  logger: Logger
  clock?: () => number
}

export interface ClaimRequest {
  tenant: string
  key: string
  model: string
  requestBytes?: number
}

export type Claim =
  | { kind: 'replay'; jobId: string }
  | {
      kind: 'claimed'
      /** The job started: the key now names it. */
      finish(jobId: string): Promise<void>
      /** The request failed: the key is free again. */
      release(): Promise<void>
    }

/** The Idempotency-Key header, checked: 1-255 printable ASCII characters, sent once. */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  if (typeof header !== 'string' || !KEY_PATTERN.test(header)) throw errors.invalidIdempotencyKey()
  return header
}

export function createIdempotency(deps: IdempotencyDeps) {
  const { store, logger } = deps
  const now = deps.clock ?? Date.now
  const ttlMs = deps.ttlSeconds * 1000

  const locationOf = (tenant: string, key: string): S3Location => ({
    bucket: deps.storage.bucket,
    // The key is the client's text: hashed, so any key makes a safe S3 key and none is stored.
    key: `${deps.storage.prefix}idempotency/${tenant}/${createHash('sha256').update(key).digest('hex')}.json`,
  })

  function parse(text: string): Marker | undefined {
    try {
      const parsed = markerSchema.safeParse(JSON.parse(text))
      return parsed.success ? parsed.data : undefined
    } catch {
      return undefined
    }
  }

  /** A marker that no longer counts: a finished one past its TTL, or a pending one whose gateway died. */
  function lapsed(m: Marker): boolean {
    if (m.state === 'done') return now() - Date.parse(m.createdAt) > ttlMs
    return now() - Date.parse(m.heartbeatAt) > STALE_AFTER_MS
  }

  function mismatch(m: Marker, request: ClaimRequest): string | undefined {
    if (m.model !== request.model) return `it was for the model "${m.model}"`
    if (m.requestBytes !== undefined && request.requestBytes !== undefined && m.requestBytes !== request.requestBytes) {
      return `it was for a body of ${m.requestBytes} bytes`
    }
    return undefined
  }

  async function claim(request: ClaimRequest, clientSignal?: AbortSignal): Promise<Claim> {
    const loc = locationOf(request.tenant, request.key)
    const token = randomUUID()
    const at = new Date(now()).toISOString()
    const marker: Marker = {
      version: 1,
      state: 'pending',
      token,
      model: request.model,
      ...(request.requestBytes !== undefined ? { requestBytes: request.requestBytes } : {}),
      createdAt: at,
      heartbeatAt: at,
    }
    const d = deadline(deps.readBudgetMs, clientSignal)
    try {
      let condition: { ifNoneMatch: '*' } | { ifMatch: string } = { ifNoneMatch: '*' }
      // A few rounds at most: each lost race means another request moved the marker on.
      for (let round = 0; round < 4; round++) {
        const etag = await store.putIf(loc, JSON.stringify(marker), 'application/json', condition, d.signal)
        if (etag !== undefined) return claimed(loc, marker, etag)
        const existing = await store.readSmall(loc, MAX_MARKER_BYTES, d.signal)
        if (existing === undefined) {
          condition = { ifNoneMatch: '*' }
          continue
        }
        const m = parse(existing.text)
        // Our own first attempt, which the SDK retried after it had landed.
        if (m?.token === token) return claimed(loc, marker, existing.etag)
        if (m === undefined || lapsed(m)) {
          if (existing.etag === undefined) throw errors.idempotencyKeyInUse()
          condition = { ifMatch: existing.etag }
          continue
        }
        const why = mismatch(m, request)
        if (why !== undefined) throw errors.idempotencyKeyReused(why)
        if (m.state === 'done' && m.jobId !== undefined) return { kind: 'replay', jobId: m.jobId }
        throw errors.idempotencyKeyInUse()
      }
      throw errors.idempotencyKeyInUse()
    } finally {
      d.clear()
    }
  }

  function claimed(loc: S3Location, marker: Marker, etag: string | undefined): Claim {
    let current = etag
    // Renews the heartbeat while the upload runs, so that the marker is not taken for a dead gateway's.
    const timer = setInterval(() => {
      if (current === undefined) return
      const next = { ...marker, heartbeatAt: new Date(now()).toISOString() }
      const d = deadline(deps.readBudgetMs)
      store
        .putIf(loc, JSON.stringify(next), 'application/json', { ifMatch: current }, d.signal)
        .then((e) => {
          current = e
          if (e === undefined) logger.warn({ idempotencyMarker: loc.key }, 'idempotency marker taken over while its upload ran')
        })
        .catch((err: unknown) => logger.warn({ err, idempotencyMarker: loc.key }, 'idempotency heartbeat failed'))
        .finally(() => d.clear())
    }, HEARTBEAT_MS)
    timer.unref()
    return {
      kind: 'claimed',
      async finish(jobId) {
        clearInterval(timer)
        const done: Marker = { ...marker, state: 'done', jobId, heartbeatAt: new Date(now()).toISOString() }
        const d = deadline(deps.readBudgetMs)
        try {
          await store.putSmall(loc, JSON.stringify(done), 'application/json', d.signal)
        } catch (err) {
          // The job exists and its answer goes out; only a retry with this key would start another.
          logger.error({ err, jobId, idempotencyMarker: loc.key }, 'job started but its idempotency key could not be recorded')
        } finally {
          d.clear()
        }
      },
      async release() {
        clearInterval(timer)
        await store.discard(loc)
      },
    }
  }

  return { claim }
}

export type Idempotency = ReturnType<typeof createIdempotency>
