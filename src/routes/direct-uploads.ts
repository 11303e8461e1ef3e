import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { json, limitedProblems, problem, RETRY_AFTER } from '../api/responses.js'
import { Job, JobId, ModelName } from '../api/schemas.js'
import { AppError, errors } from '../errors.js'
import { deadline } from '../lib/deadline.js'
import type { S3Location } from '../lib/s3-uri.js'
import { isJobId, newJobId } from '../lib/ids.js'
import { parseMediaType } from '../lib/media-type.js'
import { matchesSignature, SNIFF_BYTES } from '../lib/sniff.js'
import { observeAwsCalls, type AwsCallObserver } from '../clients/aws.js'
import { jobKeys } from '../services/job-record.js'
import { declaredUploadType, type JobService } from '../services/job-service.js'
import { mayUse } from '../services/keyring.js'
import { clientGone } from './http.js'

/**
 * Direct-to-S3 uploads for very large files: the gateway creates the S3 multipart upload of the
 * job's input and signs each part's URL (@aws-sdk/s3-request-presigner); the client PUTs the parts
 * to S3 itself, then asks the gateway to complete, which checks the size and the first bytes and
 * starts the job as POST /models/{name}/jobs does. The routes have the shape of Uppy Companion's S3
 * multipart API (`{endpoint}/s3/multipart…`), so @uppy/aws-s3 with `companionEndpoint` set to
 * `/models/{name}/uploads` drives them unchanged (on a gateway without keys: Companion requests carry
 * no Authorization header; with keys, Uppy's `signRequest` option calls the same routes with one).
 * The `key` the client gets back is the job id: the S3 key stays the gateway's.
 *
 * An upload's record (`jobs/<id>/upload.json`: tenant, model, type, upload id) is written at
 * creation; an upload never completed expires like a resumable one (routes/uploads.ts sweeps both).
 */

export const DIRECT_RECORD = 'upload.json'
/** How long a signed part URL is valid. */
const PART_URL_SECONDS = 15 * 60
const MIN_PART_BYTES = 5 * 1024 * 1024
const MAX_RECORD_BYTES = 16 * 1024

const DirectRecord = z.object({
  version: z.literal(1),
  uploadId: z.string(),
  model: z.string(),
  contentType: z.string(),
  filename: z.string().optional(),
  /** Checked at creation (webhooks.allowedHosts); the job's callback once it starts. */
  webhookUrl: z.string().optional(),
  tenant: z.string(),
  keyId: z.string(),
  createdAt: z.string(),
})
type DirectRecord = z.infer<typeof DirectRecord>

export interface DirectUploadOptions {
  jobs: JobService
  storage: { bucket: string; prefix: string }
  s3: S3ClientConfig
  readBudgetMs: number
  /** Removes an object now if S3 lets it, else keeps retrying (ObjectStore.discard). */
  discard: (loc: S3Location) => Promise<void>
  /** Told of each completed upload's size when its job starts (metrics), and of this route's S3 calls. */
  onUploadBytes?: (bytes: number) => void
  onS3Call?: AwsCallObserver
  /** Validates a job's callback URL (`metadata.webhookUrl`): 400 `webhook_not_allowed` at creation. */
  checkWebhookUrl: (raw: string) => string
}

export function directUploadRoutes(o: DirectUploadOptions) {
  const { bucket, prefix } = o.storage
  const s3 = new S3Client(o.s3)
  if (o.onS3Call !== undefined) observeAwsCalls(s3, 's3', o.onS3Call)
  const inputKey = (id: string) => jobKeys(prefix, id).input
  const recordKey = (id: string) => `${prefix}jobs/${id}/${DIRECT_RECORD}`

  /** An S3 call within the read budget; S3's failures as the gateway's 503/504. */
  async function call<T>(signal: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const limit = deadline(o.readBudgetMs, signal)
    try {
      return await run(limit.signal)
    } catch (err) {
      if (err instanceof AppError) throw err
      if (limit.signal.aborted && !signal.aborted) throw errors.upstreamTimeout('Storage', 5, err)
      throw errors.upstreamUnavailable('Storage', 5, err)
    } finally {
      limit.clear()
    }
  }

  /** The upload's record if it is the caller's and matches the upload id: anything else is a 404. */
  async function own(request: FastifyRequest, model: string, id: string, uploadId: string, signal: AbortSignal): Promise<DirectRecord> {
    if (!isJobId(id)) throw uploadNotFound()
    const text = await call(signal, async (s) => {
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: recordKey(id), Range: `bytes=0-${MAX_RECORD_BYTES - 1}` }), { abortSignal: s })
        return await got.Body!.transformToString()
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') return undefined
        throw err
      }
    })
    if (text === undefined) throw uploadNotFound()
    const record = DirectRecord.parse(JSON.parse(text))
    if (record.tenant !== request.principal.tenant || record.model !== model || record.uploadId !== uploadId) throw uploadNotFound()
    return record
  }

  return async (plain: FastifyInstance) => {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    const base = '/models/:name/uploads/s3/multipart'
    const Params = z.object({ name: ModelName })
    const UploadParams = z.object({ name: ModelName, uploadId: z.string().min(1).max(1024) })
    const KeyQuery = z.looseObject({ key: JobId.describe('The `key` the creation answered (the job id)') })
    const problems = {
      400: problem('A malformed request (`bad_request`), or a `metadata.webhookUrl` the gateway will not call (`webhook_not_allowed`)'),
      403: problem('The API key may not use this model (`model_not_allowed`)'),
      404: problem('No such model, or no such upload for this key (`upload_not_found`)'),
      409: problem('A real-time model (`wrong_model_mode`)'),
      413: problem("Over the model's `maxBytes` (`payload_too_large`); a completed upload over it is removed"),
      415: problem('A type the model does not accept, or first bytes that are not the declared type; a completed upload that is not is removed'),
      504: problem('S3 did not answer in time (`upstream_timeout`)', RETRY_AFTER),
      ...limitedProblems,
    }
    const tags = ['jobs']

    app.post(
      base,
      {
        schema: {
          tags,
          summary: 'Create a direct-to-S3 multipart upload for an async job (Uppy Companion shape)',
          description:
            "Body `{type, filename?, size?, metadata?}` (Uppy sends `type`, `filename` and `metadata`; `size` or `metadata.size`, when given, is checked against the model's `maxBytes` at once; `metadata.webhookUrl` is the job's callback, as the `X-Webhook-Url` header of POST /models/{name}/jobs). Answers `{uploadId, key}`; `key` is the job id. Then sign each part (GET …/{uploadId}/{partNumber}), PUT the parts to S3, and complete.",
          operationId: 'createDirectUpload',
          params: Params,
          body: z.looseObject({
            type: z.string().max(1024).optional(),
            filename: z.string().max(1024).optional(),
            size: z.number().int().nonnegative().optional(),
            metadata: z.looseObject({ size: z.union([z.number(), z.string()]).optional(), webhookUrl: z.string().max(2048).optional() }).optional(),
          }),
          response: { 200: json(z.object({ uploadId: z.string(), key: JobId }), 'The upload'), ...problems },
        },
      },
      async (request, reply) => {
        const name = request.params.name
        if (!mayUse(request.principal, name)) throw errors.modelNotAllowed(name)
        const model = await o.jobs.asyncModel(name)
        const size = request.body.size ?? (request.body.metadata?.size !== undefined ? Number(request.body.metadata.size) : undefined)
        if (size !== undefined && size > model.maxBytes) throw errors.payloadTooLarge(model.maxBytes)
        const filename = request.body.filename
        const type = declaredUploadType(request.body.type, filename, model.contentTypes)
        const hook = request.body.metadata?.webhookUrl
        const webhookUrl = hook !== undefined ? o.checkWebhookUrl(hook) : undefined
        const id = newJobId()
        const signal = clientGone(request, reply)
        const created = await call(signal, (s) =>
          s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: inputKey(id), ContentType: type, Metadata: { 'sagegate-job-id': id } }), { abortSignal: s }),
        )
        const record: DirectRecord = {
          version: 1,
          uploadId: created.UploadId!,
          model: model.name,
          contentType: type,
          ...(filename !== undefined ? { filename: filename.slice(0, 255) } : {}),
          ...(webhookUrl !== undefined ? { webhookUrl } : {}),
          tenant: request.principal.tenant,
          keyId: request.principal.keyId,
          createdAt: new Date().toISOString(),
        }
        await call(signal, (s) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: recordKey(id), Body: JSON.stringify(record), ContentType: 'application/json' }), { abortSignal: s })).catch(
          async (err: unknown) => {
            await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: inputKey(id), UploadId: created.UploadId })).catch(() => undefined)
            throw err
          },
        )
        request.log.info({ jobId: id, model: model.name }, 'direct upload created')
        return { uploadId: created.UploadId!, key: id }
      },
    )

    app.get(
      `${base}/:uploadId/:partNumber`,
      {
        schema: {
          tags,
          summary: "Sign one part's upload URL",
          description: `A presigned \`PUT\` to S3 for part \`partNumber\` (1–10000), valid ${PART_URL_SECONDS / 60} minutes. Parts but the last must be at least 5 MiB; the upload as a whole at most the model's \`maxBytes\`.`,
          operationId: 'signDirectUploadPart',
          params: UploadParams.extend({ partNumber: z.coerce.number().int().min(1).max(10_000) }),
          querystring: KeyQuery,
          response: { 200: json(z.object({ url: z.string(), expires: z.int() }), 'The signed URL'), ...problems },
        },
      },
      async (request, reply) => {
        const { name, uploadId, partNumber } = request.params
        const model = await o.jobs.asyncModel(name)
        // Enough parts for maxBytes in parts of the minimum size, and no more.
        if (partNumber > Math.ceil(model.maxBytes / MIN_PART_BYTES)) throw errors.payloadTooLarge(model.maxBytes)
        await own(request, name, request.query.key, uploadId, clientGone(request, reply))
        const url = await getSignedUrl(s3, new UploadPartCommand({ Bucket: bucket, Key: inputKey(request.query.key), UploadId: uploadId, PartNumber: partNumber }), {
          expiresIn: PART_URL_SECONDS,
        })
        return { url, expires: PART_URL_SECONDS }
      },
    )

    app.get(
      `${base}/:uploadId`,
      {
        schema: {
          tags,
          summary: 'The parts S3 holds (to resume)',
          operationId: 'listDirectUploadParts',
          params: UploadParams,
          querystring: KeyQuery,
          response: { 200: json(z.array(z.object({ PartNumber: z.int(), ETag: z.string(), Size: z.int() })), 'The parts'), ...problems },
        },
      },
      async (request, reply) => {
        const { name, uploadId } = request.params
        await own(request, name, request.query.key, uploadId, clientGone(request, reply))
        const parts = await listParts(request.query.key, uploadId, clientGone(request, reply))
        return parts.map((p) => ({ PartNumber: p.PartNumber!, ETag: p.ETag!, Size: p.Size ?? 0 }))
      },
    )

    app.post(
      `${base}/:uploadId/complete`,
      {
        schema: {
          tags,
          summary: 'Complete the upload and start the job',
          description:
            "Completes the multipart upload, checks its size against the model's `maxBytes` and its first bytes against its type (either failing removes the upload), then starts the job. Answers `{location, key, job}` with `Job-Location: /jobs/{id}`.",
          operationId: 'completeDirectUpload',
          params: UploadParams,
          querystring: KeyQuery,
          body: z.object({ parts: z.array(z.object({ PartNumber: z.int().min(1).max(10_000), ETag: z.string().min(1).max(256) })).min(1).max(10_000) }),
          response: {
            200: json(z.object({ location: z.string(), key: JobId, job: Job }), 'The job started', { 'Job-Location': { type: 'string' } }),
            ...problems,
          },
        },
      },
      async (request, reply) => {
        const { name, uploadId } = request.params
        const id = request.query.key
        const signal = clientGone(request, reply)
        const record = await own(request, name, id, uploadId, signal)
        const model = await o.jobs.asyncModel(name)
        await call(signal, (s) =>
          s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: inputKey(id),
              UploadId: uploadId,
              MultipartUpload: { Parts: [...request.body.parts].sort((a, b) => a.PartNumber - b.PartNumber) },
            }),
            { abortSignal: s },
          ),
        ).catch((err: unknown) => {
          const cause = (err as AppError).cause as { name?: string } | undefined
          if (cause?.name === 'InvalidPart' || cause?.name === 'InvalidPartOrder' || cause?.name === 'EntityTooSmall') {
            throw errors.badRequest(`S3 refused the parts: ${cause.name}.`)
          }
          throw err
        })
        const remove = () => removeAll(id, uploadId)
        const size = await call(signal, async (s) => (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: inputKey(id) }), { abortSignal: s })).ContentLength ?? 0)
        if (size > model.maxBytes) {
          await remove()
          throw errors.payloadTooLarge(model.maxBytes)
        }
        if (size === 0) {
          await remove()
          throw errors.emptyBody()
        }
        const essence = parseMediaType(record.contentType)!.essence
        const head = await call(signal, async (s) => {
          const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: inputKey(id), Range: `bytes=0-${SNIFF_BYTES - 1}` }), { abortSignal: s })
          return Buffer.from(await got.Body!.transformToByteArray())
        })
        if (matchesSignature(essence, head) === false) {
          await remove()
          throw errors.contentMismatch(essence)
        }
        const job = await o.jobs
          .startJob({
            id,
            model,
            contentType: record.contentType,
            sizeBytes: size,
            ...(record.filename !== undefined ? { filename: record.filename } : {}),
            ...(record.webhookUrl !== undefined ? { webhookUrl: record.webhookUrl } : {}),
            owner: { tenant: record.tenant, keyId: record.keyId },
            signal,
          })
          .then((started) => {
            o.onUploadBytes?.(size)
            return started
          })
          .catch(async (err: unknown) => {
            // The client can upload again; nothing of this one is left behind.
            await remove()
            throw err
          })
        await o.discard({ bucket, key: recordKey(id) })
        void reply.header('job-location', job.links.self)
        return { location: job.links.self, key: id, job }
      },
    )

    app.delete(
      `${base}/:uploadId`,
      {
        schema: {
          tags,
          summary: 'Abandon the upload',
          description: 'Aborts the multipart upload (its parts are removed) and forgets it.',
          operationId: 'abortDirectUpload',
          params: UploadParams,
          querystring: KeyQuery,
          response: { 204: { type: 'null' as const, description: 'Removed' }, ...problems },
        },
      },
      async (request, reply) => {
        const { name, uploadId } = request.params
        await own(request, name, request.query.key, uploadId, clientGone(request, reply))
        await removeAll(request.query.key, uploadId)
        return reply.code(204).send()
      },
    )
  }

  async function listParts(id: string, uploadId: string, signal: AbortSignal) {
    const parts = []
    let marker: string | undefined
    do {
      const page = await call(signal, (s) => s3.send(new ListPartsCommand({ Bucket: bucket, Key: inputKey(id), UploadId: uploadId, PartNumberMarker: marker }), { abortSignal: s }))
      parts.push(...(page.Parts ?? []))
      marker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined
    } while (marker !== undefined)
    return parts
  }

  /**
   * The multipart upload aborted (if still open) and the input deleted, through the gateway's cleanup
   * (retried until S3 takes it). The record goes only once no multipart upload is left: until then
   * the expiry sweep (routes/uploads.ts) finds the upload by it and aborts it later.
   */
  async function removeAll(id: string, uploadId: string): Promise<void> {
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: inputKey(id), UploadId: uploadId })).then(
      () => true,
      (err: { name?: string }) => err.name === 'NoSuchUpload',
    )
    await o.discard({ bucket, key: inputKey(id) })
    if (aborted) await o.discard({ bucket, key: recordKey(id) })
  }
}

const uploadNotFound = () => new AppError('upload_not_found', 404, 'No such upload.')
