import type { Part } from '@aws-sdk/client-s3'
import { S3Store, type MetadataValue } from '@tus/s3-store'
import { MemoryLocker, Server as TusServer } from '@tus/server'
import { Metadata, type Upload } from '@tus/utils'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import { NodeRequest } from 'srvx/node'
import { z } from 'zod'
import { limitedProblems, noBody, problem, RETRY_AFTER } from '../api/responses.js'
import { JobId } from '../api/schemas.js'
import type { AsyncModelConfig } from '../config.js'
import { AppError, errors, type ProblemCode } from '../errors.js'
import { checkCustomAttributes } from '../lib/custom-attributes.js'
import { isJobId, newJobId } from '../lib/ids.js'
import { parseMediaType } from '../lib/media-type.js'
import { matchesSignature, SNIFF_BYTES } from '../lib/sniff.js'
import { jobKeys } from '../services/job-record.js'
import { declaredUploadType, type JobService } from '../services/job-service.js'
import { mayUse } from '../services/keyring.js'
import type { Lifecycle, UploadLease } from '../services/lifecycle.js'
import type { NamedModel } from '../services/model-registry.js'
import type { ClientUploads } from './access.js'
import { bodyIdleSignal } from './client-watch.js'
import { DIRECT_RECORD } from './direct-uploads.js'
import { clientGone } from './http.js'

/**
 * Resumable uploads (tus 1.0: core, creation, creation-with-upload, termination, expiration) at
 * /uploads, written by @tus/s3-store straight into the job's input location
 * (`<prefix>jobs/<id>/input`; tus keeps its `<key>.info` beside it and a `<key>.part` for a tail
 * shorter than a part). The upload URL is `/uploads/<job id>`. The model, its size limit and its
 * accepted types are checked at creation, before any byte; the content signature on the first
 * bytes; when the last byte lands the job starts as POST /models/{name}/jobs starts it, and the final
 * PATCH (and any HEAD afterwards) carries `Job-Location: /jobs/<id>`. An upload nobody finishes
 * expires (`upload.resumableExpiryMs`, 24 h by default) and its multipart upload and objects are
 * removed. Errors are problem documents like every other answer; tus's own headers (Tus-Resumable,
 * Upload-Offset) are kept on them.
 *
 * Limits: one tus upload is held by one replica's lock while a PATCH runs (tus's MemoryLocker): two
 * replicas receiving PATCHes of the same upload at once are not serialised. tus clients send one at a
 * time.
 */

export const UPLOADS_PATH = '/uploads'
const JOB_LOCATION = 'Job-Location'
/** The metadata keys a client may send; the gateway adds its own (tenant, key id) under `sg-*`. */
const CLIENT_KEYS = new Set(['model', 'filetype', 'filename', 'name', 'type', 'customAttributes', 'webhookUrl'])
const TENANT = 'sg-tenant'
const KEY_ID = 'sg-key-id'
const CLEANUP_INTERVAL_MS = 15 * 60 * 1000

export interface UploadRoutesOptions {
  jobs: JobService
  lifecycle: Lifecycle
  clientUploads: ClientUploads
  storage: { bucket: string; prefix: string }
  /** The S3 client configuration tus's store uses (same endpoint, credentials and timeouts as the gateway's). */
  s3: ConstructorParameters<typeof S3Store>[0]['s3ClientConfig']
  partSizeBytes: number
  queueSize: number
  expiryMs: number
  corsOrigins: readonly string[]
  onExpiredRemoved?: (count: number) => void
  /** Told of each completed upload's size when its job starts (metrics). */
  onUploadBytes?: (bytes: number) => void
  /** Validates a job's callback URL (metadata `webhookUrl`): 400 `webhook_not_allowed` at creation. */
  checkWebhookUrl: (raw: string) => string
}

type AsyncModel = NamedModel & AsyncModelConfig

/**
 * How many parts, numbered from 1 without a gap, hold exactly the first `bytes` bytes; undefined when
 * no run of them adds up to that.
 */
export function partsHolding(parts: readonly { PartNumber?: number; Size?: number }[], bytes: number): number | undefined {
  let sum = 0
  for (let i = 0; ; i++) {
    if (sum === bytes) return i
    const part = parts[i]
    if (part === undefined || sum > bytes || part.PartNumber !== i + 1) return undefined
    sum += part.Size ?? 0
  }
}

/**
 * @tus/s3-store with these fixes:
 * - A part that S3 takes after its PATCH gave up on it (S3 stalled, the request already sent) is
 *   never counted twice. The store numbers a PATCH's first part after the last part S3 lists, so such
 *   a part landing between tus's offset check and the write made the resumed bytes a second copy
 *   under the next number (13.6 MB of parts for a 9.4 MB upload, which S3 then refused to complete).
 *   Here a PATCH numbers its parts after those that hold the bytes before its offset, so a late part
 *   is overwritten by the same bytes under its own number, and completing uses only the parts that
 *   add up to the upload's length (and refuses when none do, rather than assemble a wrong input).
 * - Termination also removes the `.part` object (an unfinished tail shorter than a part).
 * - Expiry looks only at this gateway's unfinished uploads — multipart uploads under `<prefix>jobs/`
 *   that have a tus `.info` or a direct upload's record (routes/direct-uploads.ts) beside them, both
 *   removed with them. The store's own deleteExpired aborts every multipart upload in the bucket
 *   older than the expiry, including the direct uploads of POST /models/{name}/jobs and anything else
 *   that shares the bucket.
 */
export class GatewayS3Store extends S3Store {
  constructor(
    options: ConstructorParameters<typeof S3Store>[0],
    private readonly keyPrefix: string,
  ) {
    super(options)
  }

  /**
   * Makes sure a complete upload's object exists. When a part held up by a slow S3 lands after its
   * PATCH failed, the upload is complete (every byte in a part) but tus never completed the multipart
   * upload; the PATCH that then reports the offset completes nothing. Completing it here, before the
   * job starts, keeps the job from starting on an input that does not exist.
   */
  async ensureComplete(id: string): Promise<void> {
    const exists = await this.client.headObject({ Bucket: this.bucket, Key: id }).then(
      () => true,
      (err: { name?: string }) => (err.name === 'NotFound' ? false : Promise.reject(err)),
    )
    if (exists) return
    const metadata = await this.getMetadata(id)
    await this.finishMultipartUpload(metadata, await this.retrieveParts(id))
    await this.clearCache(id)
  }

  protected override async uploadParts(metadata: MetadataValue, readStream: Readable, currentPartNumber: number, offset: number): Promise<number> {
    // `offset` is where the parts end and this PATCH's bytes begin (an unfinished tail prepended).
    const held = partsHolding(await this.retrieveParts(metadata.file.id), offset)
    return super.uploadParts(metadata, readStream, held === undefined ? currentPartNumber : held + 1, offset)
  }

  protected override async finishMultipartUpload(metadata: MetadataValue, parts: Part[]): Promise<string | undefined> {
    const size = metadata.file.size
    const held = size === undefined ? undefined : partsHolding(parts, size)
    if (held === undefined) {
      const total = parts.reduce((sum, part) => sum + (part.Size ?? 0), 0)
      throw new Error(`the parts of ${metadata.file.id} (${parts.length}, ${total} bytes) do not make up its ${size} bytes`)
    }
    return super.finishMultipartUpload(metadata, parts.slice(0, held))
  }

  override async remove(id: string): Promise<void> {
    await super.remove(id)
    await this.client.deleteObject({ Bucket: this.bucket, Key: this.partKey(id, true) })
  }

  override async deleteExpired(): Promise<number> {
    return this.deleteExpiredAt(Date.now())
  }

  /** deleteExpired as of `now` (ms). */
  async deleteExpiredAt(now: number): Promise<number> {
    let removed = 0
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    do {
      const page = await this.client.listMultipartUploads({ Bucket: this.bucket, Prefix: `${this.keyPrefix}jobs/`, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })
      for (const mpu of page.Uploads ?? []) {
        if (mpu.Key === undefined || mpu.UploadId === undefined || !mpu.Key.endsWith('/input')) continue
        if (mpu.Initiated === undefined || now <= mpu.Initiated.getTime() + this.expirationPeriodInMilliseconds) continue
        // A tus upload has its .info, a direct-to-S3 one its upload.json (routes/direct-uploads.ts); a
        // streamed upload of POST /models/{name}/jobs in progress has neither and is left alone.
        const exists = (key: string) =>
          this.client.headObject({ Bucket: this.bucket, Key: key }).then(
            () => true,
            (err: { name?: string }) => (err.name === 'NotFound' ? false : Promise.reject(err)),
          )
        const direct = `${mpu.Key.slice(0, -'input'.length)}${DIRECT_RECORD}`
        const leftovers = (await exists(this.infoKey(mpu.Key))) ? [this.infoKey(mpu.Key), this.partKey(mpu.Key, true)] : (await exists(direct)) ? [direct] : undefined
        if (leftovers === undefined) continue
        await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: mpu.Key, UploadId: mpu.UploadId })
        await this.client.deleteObjects({ Bucket: this.bucket, Delete: { Objects: leftovers.map((Key) => ({ Key })) } })
        await this.clearCache(mpu.Key)
        removed++
      }
      keyMarker = page.IsTruncated === true ? page.NextKeyMarker : undefined
      uploadIdMarker = page.IsTruncated === true ? page.NextUploadIdMarker : undefined
    } while (keyMarker !== undefined)
    return removed
  }
}

/** What the creating request learned (its principal, the checked model and type), for tus's hooks. */
interface Creation {
  metadata: Record<string, string>
}

export function uploadRoutes(o: UploadRoutesOptions) {
  const prefix = o.storage.prefix
  const keyOf = (id: string) => jobKeys(prefix, id).input
  const idOf = (key: string) => key.slice(prefix.length + 'jobs/'.length, -'/input'.length)
  const creations = new WeakMap<IncomingMessage, Creation>()
  const finishers = new WeakMap<IncomingMessage, (upload: Upload) => Promise<Record<string, string>>>()
  /** Why starting the job failed on the last byte (the upload itself is complete: a HEAD retries the start). */
  const finishErrors = new WeakMap<IncomingMessage, unknown>()

  const datastore = new GatewayS3Store(
    {
      partSize: o.partSizeBytes,
      // Part uploads in flight for all resumable uploads of this replica together (the store's own
      // semaphore). Parts are staged in temp files and streamed from disk, so memory stays small;
      // this bounds S3 connections and temp disk (≈ partSize each).
      maxConcurrentPartUploads: o.queueSize * 4,
      expirationPeriodInMilliseconds: o.expiryMs,
      s3ClientConfig: o.s3,
    },
    prefix,
  )
  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore,
    locker: new MemoryLocker(),
    respectForwardedHeaders: false,
    // Only the configured origins (routes/access.ts and @fastify/cors decide the rest); tus would say `*`.
    allowedOrigins: (origin) => o.corsOrigins.includes(origin),
    exposedHeaders: [JOB_LOCATION, 'X-Request-Id', 'Retry-After'],
    disableTerminationForFinishedUploads: true,
    namingFunction: () => keyOf(newJobId()),
    generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${idOf(id)}`,
    getFileIdFromRequest: (_req, lastPath) => (lastPath !== undefined && isJobId(lastPath) ? keyOf(lastPath) : undefined),
    onUploadCreate: async (req, upload) => {
      const creation = creations.get(nodeRequest(req))
      if (creation === undefined) throw { status_code: 500, body: 'upload created outside its route\n' }
      return { metadata: { ...(upload.metadata ?? {}), ...creation.metadata } }
    },
    onUploadFinish: async (req, upload) => {
      const node = nodeRequest(req)
      const finish = finishers.get(node)
      if (finish === undefined) throw { status_code: 500, body: 'upload finished outside its route\n' }
      try {
        return { headers: await finish(upload) }
      } catch (err) {
        // Answered as this error (pass() rethrows it), not as tus's generic 500.
        finishErrors.set(node, err)
        throw err
      }
    },
  })

  let cleanupTimer: NodeJS.Timeout | undefined
  let log: FastifyInstance['log'] | undefined
  /** Expired uploads: their multipart uploads aborted, their objects removed (tus's expiration extension). */
  const removeExpired = async (now = Date.now()): Promise<number> => {
    try {
      const removed = await datastore.deleteExpiredAt(now)
      if (removed > 0) log?.info({ removed }, 'expired resumable uploads removed')
      o.onExpiredRemoved?.(removed)
      return removed
    } catch (err) {
      log?.warn({ err }, 'expired resumable uploads could not be removed; retrying later')
      return 0
    }
  }

  const plugin = async (plain: FastifyInstance) => {
    log = plain.log
    const app = plain.withTypeProvider<ZodTypeProvider>()
    // tus bodies are streams read by tus itself.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, _payload, done) => done(null))

    app.addHook('onReady', async () => {
      cleanupTimer = setInterval(() => void removeExpired(), Math.min(CLEANUP_INTERVAL_MS, o.expiryMs)).unref()
    })
    app.addHook('onClose', async () => clearInterval(cleanupTimer))

    /** Hands the request to tus and answers with what tus answered: a problem document for its errors. */
    async function pass(request: FastifyRequest, reply: FastifyReply, before?: (response: Response) => Promise<void>): Promise<FastifyReply> {
      const response = await tus.handleWeb(new NodeRequest({ req: request.raw, res: reply.raw }))
      if (before !== undefined && response.status < 400) await before(response)
      response.headers.forEach((value, name) => {
        // CORS is the gateway's (@fastify/cors, cors.origins): tus's own CORS headers are not passed on.
        if (name !== 'content-length' && name !== 'content-type' && !name.startsWith('access-control-')) void reply.header(name, value)
      })
      if (response.status >= 400) {
        const text = (await response.text()).trim()
        const finishError = finishErrors.get(request.raw)
        throw finishError !== undefined ? finishError : tusProblem(response.status, text)
      }
      void reply.code(response.status)
      return reply.send(response.body === null ? undefined : Buffer.from(await response.arrayBuffer()))
    }

    /** The upload of this id, if it belongs to the caller's tenant: anyone else's is a 404 like a missing one. */
    async function ownUpload(request: FastifyRequest, id: string): Promise<Upload> {
      const upload = await datastore.getUpload(keyOf(id)).catch((err: { status_code?: number }) => {
        if (err.status_code === 404 || err.status_code === 410) throw uploadNotFound()
        throw errors.upstreamUnavailable('Storage', 5, err)
      })
      if (upload.metadata?.[TENANT] !== request.principal.tenant) throw uploadNotFound()
      return upload
    }

    /** Starts the upload's job once (a retry after a failed start starts it then). */
    async function startJob(request: FastifyRequest, upload: Pick<Upload, 'id' | 'size' | 'offset' | 'metadata'>, signal: AbortSignal): Promise<Record<string, string>> {
      const id = idOf(upload.id)
      const location = { [JOB_LOCATION]: `/jobs/${id}` }
      if (await o.jobs.jobExists(id, signal)) return location
      const meta = upload.metadata ?? {}
      const model = await o.jobs.asyncModel(meta.model ?? '')
      await datastore.ensureComplete(upload.id).catch((err: unknown) => {
        throw errors.upstreamUnavailable('Storage', 5, err)
      })
      await o.jobs.startJob({
        id,
        model,
        contentType: meta.filetype!,
        sizeBytes: upload.size ?? upload.offset,
        ...(meta.filename ? { filename: meta.filename.slice(0, 255) } : {}),
        ...(meta.customAttributes ? { customAttributes: meta.customAttributes } : {}),
        ...(meta.webhookUrl ? { webhookUrl: meta.webhookUrl } : {}),
        owner: { tenant: meta[TENANT]!, keyId: meta[KEY_ID]! },
        signal,
      })
      request.log.info({ jobId: id, sizeBytes: upload.size }, 'resumable upload completed; job started')
      o.onUploadBytes?.(upload.size ?? upload.offset)
      return location
    }

    const tusHeaders = z.looseObject({
      'tus-resumable': z.string().optional().describe('`1.0.0` (required by tus on every request but OPTIONS)'),
    })
    const uploadParams = z.object({ id: JobId.describe('The upload id, which is also the job id once it has started.') })
    const tusProblems = {
      400: problem('A malformed tus request or metadata (`bad_request`), or a `webhookUrl` the gateway will not call (`webhook_not_allowed`)'),
      403: problem('The API key may not use this model (`model_not_allowed`)'),
      404: problem('No such upload (`upload_not_found`), or no such model at creation (`model_not_found`)'),
      409: problem('The Upload-Offset does not match (`upload_offset_mismatch`), or the model is real-time (`wrong_model_mode`)'),
      410: problem('The upload expired (`upload_expired`)'),
      412: problem('No `Tus-Resumable: 1.0.0` header (`tus_resumable_required`)'),
      413: problem("Over the model's `maxBytes` (`payload_too_large`)"),
      415: problem('A type the model does not accept (`unsupported_media_type`), or first bytes that are not the declared type (`content_mismatch`)'),
      ...limitedProblems,
      503: problem('S3 or SageMaker is unavailable, or the gateway is at its upload capacity or shutting down', RETRY_AFTER),
    }
    const TUS_DOC =
      'tus 1.0 (https://tus.io/protocols/resumable-upload): core, creation, creation-with-upload, termination and expiration. Clients: tus-js-client, Uppy, tusd\'s CLI, or curl.'

    app.post(
      UPLOADS_PATH,
      {
        schema: {
          tags: ['jobs'],
          summary: 'Create a resumable upload (tus) for an async job',
          description: `${TUS_DOC} \`Upload-Metadata\` carries \`model\` (required), \`filetype\` (else the file name's extension decides), \`filename\`, \`customAttributes\` and \`webhookUrl\` (as the \`X-Webhook-Url\` header of POST /models/{name}/jobs, checked at creation); \`Upload-Length\` is required and at most the model's \`maxBytes\`. The answer's \`Location\` is \`/uploads/<id>\`; when the last byte lands the job \`<id>\` starts and the final PATCH carries \`Job-Location: /jobs/<id>\`. With a body (\`Content-Type: application/offset+octet-stream\`) the first bytes are sent at once (creation-with-upload).`,
          operationId: 'createUpload',
          headers: tusHeaders,
          response: {
            201: noBody('Created', {
              Location: { type: 'string', description: 'The upload URL, `/uploads/<id>`' },
              'Upload-Offset': { type: 'integer', description: 'With a body: the bytes stored' },
              'Upload-Expires': { type: 'string', description: 'When an unfinished upload is removed (RFC 9110 date)' },
              [JOB_LOCATION]: { type: 'string', description: 'When the body completed the upload' },
            }),
            ...tusProblems,
          },
        },
      },
      async (request, reply) => {
        const { metadata } = await checkCreation(request, o)
        creations.set(request.raw, { metadata })
        const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined
        if (!hasBody) return pass(request, reply)
        return receive(request, reply, async () => {
          await checkFirstBytes(request, metadata.filetype!)
          finishers.set(request.raw, async (upload) => startJob(request, { id: upload.id, size: upload.size, offset: upload.offset, metadata: { ...upload.metadata, ...metadata } }, clientGone(request, reply)))
          return pass(request, reply)
        })
      },
    )

    // Capability discovery (Tus-Version, Tus-Extension, Tus-Max-Size); a browser's preflight is
    // answered before this by @fastify/cors when origins are configured.
    for (const url of [UPLOADS_PATH, `${UPLOADS_PATH}/:id`]) {
      app.options(
        url,
        {
          config: { public: true },
          schema: {
            tags: ['jobs'],
            summary: "The server's tus capabilities",
            operationId: url === UPLOADS_PATH ? 'uploadsOptions' : 'uploadOptions',
            security: [],
            response: { 204: noBody('Tus-Version, Tus-Extension, Tus-Max-Size', { 'Tus-Version': { type: 'string' }, 'Tus-Extension': { type: 'string' } }) },
          },
        },
        async (request, reply) => pass(request, reply),
      )
    }

    app.head(
      `${UPLOADS_PATH}/:id`,
      {
        // A HEAD of its own (not Fastify's copy of a GET): documented.
        config: { swagger: { exposeHeadRoute: true } },
        schema: {
          tags: ['jobs'],
          summary: "A resumable upload's offset",
          description: `${TUS_DOC} A finished upload also carries \`Job-Location\` (and starts its job if starting it failed before).`,
          operationId: 'upload',
          params: uploadParams,
          headers: tusHeaders,
          response: {
            200: noBody('The upload', {
              'Upload-Offset': { type: 'integer' },
              'Upload-Length': { type: 'integer' },
              'Upload-Metadata': { type: 'string' },
              'Cache-Control': { type: 'string', const: 'no-store' },
              [JOB_LOCATION]: { type: 'string', description: 'Once the upload is complete and its job started' },
            }),
            ...tusProblems,
          },
        },
      },
      async (request, reply) => {
        const upload = await ownUpload(request, request.params.id)
        // Decided on the offset tus answers with, not on the read above: a part held up when an
        // earlier PATCH failed may land between the two, and an answer that says "complete" without
        // Job-Location would leave the client (which then sends nothing more) with no job.
        return pass(request, reply, async (response) => {
          const offset = response.headers.get('upload-offset')
          if (offset === null || offset !== response.headers.get('upload-length')) return
          const size = Number(offset)
          void reply.headers(await startJob(request, { ...upload, size, offset: size }, clientGone(request, reply)))
        })
      },
    )

    app.patch(
      `${UPLOADS_PATH}/:id`,
      {
        schema: {
          tags: ['jobs'],
          summary: 'Send bytes of a resumable upload',
          description: `${TUS_DOC} \`Content-Type: application/offset+octet-stream\`, \`Upload-Offset\` as the last HEAD said. The PATCH that completes the upload starts the job and carries \`Job-Location\`.`,
          operationId: 'patchUpload',
          params: uploadParams,
          headers: tusHeaders,
          requestBody: { content: { 'application/offset+octet-stream': { schema: z.any().meta({ type: 'string', format: 'binary' }) } } },
          response: {
            204: noBody('Stored', {
              'Upload-Offset': { type: 'integer' },
              'Upload-Expires': { type: 'string' },
              [JOB_LOCATION]: { type: 'string', description: 'On the PATCH that completed the upload' },
            }),
            ...tusProblems,
          },
        },
      },
      async (request, reply) => {
        const upload = await ownUpload(request, request.params.id)
        // A PATCH of nothing at the end of a finished upload (a client repeating its last request):
        // the answer the last PATCH should have had, the job started if it was not.
        const complete = upload.size !== undefined && upload.offset === upload.size
        if (complete && request.headers['upload-offset'] === String(upload.size) && Number(request.headers['content-length'] ?? 0) === 0) {
          const location = await startJob(request, upload, clientGone(request, reply))
          return reply.code(204).headers({ 'tus-resumable': '1.0.0', 'upload-offset': String(upload.size), ...location }).send()
        }
        return receive(request, reply, async () => {
          if (upload.offset === 0 && request.headers['upload-offset'] === '0') {
            // Not what it says it is: the upload is removed, as a refused direct upload leaves nothing.
            await checkFirstBytes(request, upload.metadata?.filetype ?? '').catch(async (err: unknown) => {
              // (A client that left before its first bytes keeps its upload, to resume.)
              if (err instanceof AppError && err.code === 'content_mismatch') {
                await datastore.remove(upload.id).catch((removeErr: unknown) => request.log.warn({ err: removeErr }, 'refused upload could not be removed; it expires'))
              }
              throw err
            })
          }
          finishers.set(request.raw, (done) => startJob(request, { id: done.id, size: done.size, offset: done.offset, metadata: { ...upload.metadata, ...done.metadata } }, clientGone(request, reply)))
          return pass(request, reply)
        })
      },
    )

    app.delete(
      `${UPLOADS_PATH}/:id`,
      {
        schema: {
          tags: ['jobs'],
          summary: 'Abandon a resumable upload',
          description: `${TUS_DOC} Removes its multipart upload and objects. A finished upload (its job started) cannot be terminated.`,
          operationId: 'deleteUpload',
          params: uploadParams,
          headers: tusHeaders,
          response: { 204: noBody('Removed'), ...tusProblems },
        },
      },
      async (request, reply) => {
        await ownUpload(request, request.params.id)
        return pass(request, reply)
      },
    )

    /** A request that carries upload bytes: counted as an upload (per client and for the gateway) while it runs. */
    async function receive(request: FastifyRequest, reply: FastifyReply, run: () => Promise<FastifyReply>): Promise<FastifyReply> {
      const releaseClientSlot = o.clientUploads.acquire(request)
      let lease: UploadLease | undefined
      try {
        lease = o.lifecycle.acquireUpload()
        // A drain past its deadline, or a body that sends nothing for upload.idleTimeoutMs, stops the
        // transfer: tus keeps what arrived (the offset a HEAD reports) and the client resumes.
        const stop = () => request.raw.destroy()
        for (const signal of [lease.signal, bodyIdleSignal(request)]) signal?.addEventListener('abort', stop, { once: true })
        return await run()
      } finally {
        lease?.release()
        releaseClientSlot()
      }
    }
  }

  /** The Node request behind tus's web Request (srvx keeps it). */
  function nodeRequest(req: object): IncomingMessage {
    return (req as { runtime: { node: { req: IncomingMessage } } }).runtime.node.req
  }

  return { plugin, removeExpired }
}

/** Creation: the model, the caller's right to it, the length and the type, before any byte is stored. */
async function checkCreation(request: FastifyRequest, o: UploadRoutesOptions): Promise<{ model: AsyncModel; metadata: Record<string, string> }> {
  let parsed: Record<string, string | null>
  try {
    parsed = Metadata.parse(single(request.headers['upload-metadata']) ?? '')
  } catch {
    throw errors.badRequest('Upload-Metadata is malformed: comma-separated "key base64value" pairs.')
  }
  const meta: Record<string, string> = {}
  for (const [key, value] of Object.entries(parsed)) {
    if (!CLIENT_KEYS.has(key)) throw errors.badRequest(`Unknown Upload-Metadata key "${key}".`, { allowedKeys: [...CLIENT_KEYS] })
    if (value !== null) meta[key] = value
  }
  if (meta.model === undefined) throw errors.badRequest('Upload-Metadata must name the model ("model").')
  if (!mayUse(request.principal, meta.model)) throw errors.modelNotAllowed(meta.model)
  const model = await o.jobs.asyncModel(meta.model)
  if (request.headers['upload-defer-length'] !== undefined) throw errors.badRequest('Upload-Defer-Length is not supported: send Upload-Length.')
  const length = Number(single(request.headers['upload-length']))
  if (!Number.isSafeInteger(length) || length < 0) throw errors.badRequest('Upload-Length must be the size of the upload in bytes.')
  if (length === 0) throw errors.emptyBody()
  if (length > model.maxBytes) throw errors.payloadTooLarge(model.maxBytes)
  const filename = meta.filename ?? meta.name
  const filetype = declaredUploadType(meta.filetype ?? meta.type, filename, model.contentTypes)
  if (meta.customAttributes !== undefined) {
    const problemText = checkCustomAttributes(meta.customAttributes)
    if (problemText !== undefined) throw errors.invalidCustomAttributes(problemText)
  }
  // Checked at creation, so that an upload whose job could never call back is refused before any byte.
  const webhookUrl = meta.webhookUrl !== undefined ? o.checkWebhookUrl(meta.webhookUrl) : undefined
  const metadata: Record<string, string> = {
    model: model.name,
    filetype,
    ...(filename !== undefined ? { filename: filename.slice(0, 255) } : {}),
    ...(meta.customAttributes !== undefined ? { customAttributes: meta.customAttributes } : {}),
    ...(webhookUrl !== undefined ? { webhookUrl } : {}),
    [TENANT]: request.principal.tenant,
    [KEY_ID]: request.principal.keyId,
  }
  return { model, metadata }
}

/** The first bytes of an upload must look like its declared type (as for POST /models/{name}/jobs). */
async function checkFirstBytes(request: FastifyRequest, filetype: string): Promise<void> {
  const essence = parseMediaType(filetype)?.essence
  if (essence === undefined) return
  const head = await readHead(request.raw, SNIFF_BYTES)
  if (head.length > 0 && matchesSignature(essence, head) === false) throw errors.contentMismatch(essence)
}

/**
 * Reads up to `n` bytes (fewer if the body ends first) and puts them back, so the body is unchanged
 * (lib/streams.ts's peek hands back a new stream; tus reads the request itself). A request destroyed
 * meanwhile (its body went idle, the drain deadline passed, the client left) ends the wait.
 */
function readHead(stream: IncomingMessage, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const done = (err?: Error) => {
      stream.off('readable', onReadable)
      stream.off('end', onEnd)
      stream.off('error', done)
      stream.off('close', onClose)
      if (err !== undefined) return reject(err)
      const head = Buffer.concat(chunks, length)
      if (head.length > 0) stream.unshift(head)
      resolve(head.subarray(0, n))
    }
    const onReadable = () => {
      for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
        chunks.push(chunk)
        length += chunk.length
        if (length >= n) return done()
      }
    }
    const onEnd = () => done()
    const onClose = () => done(errors.clientClosed(length))
    if (stream.destroyed) return onClose()
    stream.on('readable', onReadable)
    stream.once('end', onEnd)
    stream.once('error', done)
    stream.once('close', onClose)
  })
}

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)

const uploadNotFound = () => new AppError('upload_not_found', 404, 'No such upload.')

/** tus's own refusals as problem documents. */
function tusProblem(status: number, text: string): AppError {
  const byStatus: Record<number, ProblemCode> = {
    404: 'upload_not_found',
    409: 'upload_offset_mismatch',
    410: 'upload_expired',
    412: 'tus_resumable_required',
    413: 'payload_too_large',
  }
  if (status >= 500) return errors.upstreamUnavailable('Storage', 5, new Error(text))
  return new AppError(byStatus[status] ?? 'bad_request', status, text === '' ? 'The upload request was refused.' : text)
}
