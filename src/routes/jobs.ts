import multipart, { type MultipartFile, type Multipart } from '@fastify/multipart'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { bytes, json, limitedProblems, noBody, problem, RETRY_AFTER } from '../api/responses.js'
import { Binary, CreateJobHeaders, Job, JobParams, ModelParams, ResultHeaders } from '../api/schemas.js'
import type { Readable } from 'node:stream'
import { errors } from '../errors.js'
import { isAcceptedType, parseMediaType, typeFromFilename } from '../lib/media-type.js'
import { detectSignature, SNIFF_BYTES } from '../lib/sniff.js'
import { peek } from '../lib/streams.js'
import { resultConditions } from '../services/job-result.js'
import type { AsyncModelConfig } from '../config.js'
import type { JobView } from '../services/job-record.js'
import type { JobService } from '../services/job-service.js'
import type { NamedModel } from '../services/model-registry.js'
import { idempotencyKeyOf, type Idempotency } from '../services/idempotency.js'
import type { Lifecycle, UploadLease } from '../services/lifecycle.js'
import type { ClientUploads } from './access.js'
import { bodyIdleSignal } from './client-watch.js'
import { abortable, clientGone, continueIfExpected, CUSTOM_ATTRIBUTES_HEADER } from './http.js'

const OPTION_FIELDS = new Set(['customAttributes', 'webhookUrl'])
/** RFC 2046 §5.1.1: 1-70 bchars (DIGIT ALPHA ' ( ) + _ , - . / : = ? and space), not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/

type AsyncModel = NamedModel & AsyncModelConfig

interface Upload {
  body: Readable
  contentType: string | undefined
  declaredLength?: number
  filename?: string
  customAttributes?: string
  webhookUrl?: string
  afterBody?: () => Promise<void>
}

/**
 * multipart/form-data: option fields first, then exactly one file in the field `file`. Anything after
 * the file is read once the file is stored and must be empty (a second file is a 400, and the job is
 * not started).
 */
/**
 * A form part's type. `curl -F file=@clip.mp4` (no `;type=`), what most people type, sends
 * application/octet-stream, and a part with no Content-Type at all reads as text/plain (RFC 7578
 * §4.4): the two types a client sends when it did not say. When the model does not take such a type
 * as it is, the type comes from the file name's extension, else from the first bytes' signature; the
 * model's accepted types and the content check then apply as for any upload.
 */
async function typeOfPart(file: MultipartFile, accepted: readonly string[], signal: AbortSignal): Promise<{ contentType: string | undefined; body: Readable }> {
  const essence = parseMediaType(file.mimetype)?.essence
  const vague = essence === 'application/octet-stream' || essence === 'text/plain'
  if (!vague || isAcceptedType(essence, accepted)) return { contentType: file.mimetype, body: file.file }
  const byName = typeFromFilename(file.filename)
  if (byName !== undefined) return { contentType: byName, body: file.file }
  const { head, body } = await peek(file.file, SNIFF_BYTES, signal)
  return { contentType: detectSignature(head) ?? file.mimetype, body }
}

async function multipartUpload(request: FastifyRequest, maxBytes: number, acceptedTypes: readonly string[], signal: AbortSignal): Promise<Upload> {
  // busboy throws (a 500) on a boundary it cannot use: refuse it first.
  const boundary = parseMediaType(request.headers['content-type'])?.parameters.boundary
  if (boundary === undefined || !BOUNDARY.test(boundary)) {
    throw errors.badRequest('The multipart/form-data boundary is missing or invalid (RFC 2046: 1-70 characters, not ending in a space).')
  }
  const fields: Record<string, string> = {}
  const parts = request.parts({
    // One more byte than the model allows, so our own limiter (413 with cleanup) fires first;
    // throwFileSizeLimit (set at registration) turns busboy's silent truncation into an error too.
    limits: { fileSize: maxBytes + 1, files: 2, fields: 8, fieldSize: 4096, parts: 10, headerPairs: 50 },
  })[Symbol.asyncIterator]()
  for (;;) {
    // A client that goes silent (or away) before the file starts stops the wait too.
    const next = await abortable(parts.next(), signal)
    if (next.done === true) throw errors.badRequest('The multipart body has no file field "file".')
    const part: Multipart = next.value
    if (part.type === 'field') {
      if (!OPTION_FIELDS.has(part.fieldname)) throw errors.badRequest(`Unknown form field "${part.fieldname}".`, { allowedFields: [...OPTION_FIELDS, 'file'] })
      fields[part.fieldname] = String(part.value)
      continue
    }
    const file: MultipartFile = part
    if (file.fieldname !== 'file') {
      file.file.resume()
      throw errors.badRequest(`The file must be sent in the field "file", not "${file.fieldname}".`)
    }
    const typed = await typeOfPart(file, acceptedTypes, signal)
    return {
      body: typed.body,
      contentType: typed.contentType,
      ...(file.filename ? { filename: file.filename.slice(0, 255) } : {}),
      ...customAttributesOf(request, fields.customAttributes),
      ...(fields.webhookUrl !== undefined ? { webhookUrl: fields.webhookUrl } : {}),
      afterBody: async () => {
        if (file.file.truncated) throw errors.payloadTooLarge(maxBytes)
        const rest = await abortable(parts.next(), signal)
        if (rest.done !== true) {
          if (rest.value.type === 'file') rest.value.file.resume()
          throw errors.badRequest('Send exactly one file, in the field "file", after any option fields.')
        }
      },
    }
  }
}

/** Custom attributes from the form field if given, else from the header. */
function customAttributesOf(request: FastifyRequest, field?: string): { customAttributes?: string } {
  const attrs = field ?? request.headers[CUSTOM_ATTRIBUTES_HEADER]
  return typeof attrs === 'string' ? { customAttributes: attrs } : {}
}

function rawUpload(request: FastifyRequest): Upload {
  const length = request.headers['content-length']
  return {
    body: request.raw,
    contentType: request.headers['content-type'],
    ...(length !== undefined ? { declaredLength: Number(length) } : {}),
    ...customAttributesOf(request),
  }
}

/** Stripe's header: this answer is the one the first request with this Idempotency-Key got. */
const REPLAYED_HEADER = 'idempotent-replayed'

const LOCATION = { Location: { type: 'string' as const, description: "The job's URL" } }

const CREATE_JOB = `The body is streamed to S3 (never buffered) and the model's async endpoint is invoked with it.
Send either a raw body with the input's own \`Content-Type\` (\`curl -T clip.mp4 -X POST -H 'content-type: video/mp4'\`),
or \`multipart/form-data\` with optional option fields first and exactly one file in the field \`file\`.

With \`Expect: 100-continue\`, 100 Continue is sent only once the request's headers are accepted, so a refused
upload is never sent. Rejections leave nothing behind (no stored object, no multipart parts, no job). A body that
sends no byte for \`upload.idleTimeoutMs\` is answered 408 \`request_timeout\` and its connection closed.`

/** The result's headers: a browser never runs a model's output (services/job-result.ts). */
const RESULT_HEADERS = {
  ETag: { type: 'string' as const },
  'X-Content-Type-Options': { type: 'string' as const, const: 'nosniff' },
  'Content-Security-Policy': { type: 'string' as const, const: 'sandbox' },
  'Cache-Control': { type: 'string' as const, const: 'private, no-store' },
  'Content-Disposition': {
    type: 'string' as const,
    description: 'Absent for JSON, text/plain, images other than SVG, audio and video.',
    example: 'attachment; filename="AbCdEfGhIjKlMnOpQrStUv.html"',
  },
}

const RESULT_DESCRIPTION = `The budget \`aws.readBudgetMs\` covers everything up to the first byte. Once streaming, an S3 that sends
nothing for \`aws.s3StallTimeoutMs\` ends the response early (an incomplete body), and a client that reads nothing
for \`upload.idleTimeoutMs\` has its connection closed.

The output is the model's, so it is served so that a browser cannot run it: every answer (200, 206, 304, and HEAD)
has \`X-Content-Type-Options: nosniff\`, \`Content-Security-Policy: sandbox\` and \`Cache-Control: private, no-store\`,
and is an attachment (\`Content-Disposition: attachment; filename="<id>.<ext>"\`) unless its type is JSON
(\`application/json\`, \`+json\`), \`text/plain\`, an image other than \`image/svg+xml\`, audio or video.`

const resultProblems = {
  404: problem('No such job (`job_not_found`), or it belongs to another tenant'),
  409: problem('The job has no result (`job_not_completed`, with `jobStatus`)'),
  416: problem('The range is not satisfiable (`range_not_satisfiable`), with `Content-Range: bytes */<size>`'),
  504: problem('S3 did not answer within `aws.readBudgetMs` (`upstream_timeout`)', RETRY_AFTER),
  ...limitedProblems,
}

/**
 * `checkWebhookUrl` validates a job's callback URL (webhooks.allowedHosts, SSRF rules) and throws 400
 * `webhook_not_allowed`; the header is checked before any byte of the body is read.
 */
export function jobRoutes(jobs: JobService, lifecycle: Lifecycle, clientUploads: ClientUploads, idempotency: Idempotency, checkWebhookUrl: (raw: string) => string) {
  return async (plain: FastifyInstance) => {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    // Bodies are streams here: no parser may read them. multipart/form-data gets the multipart
    // parser (which also reads nothing until asked); everything else is passed through untouched.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, _payload, done) => done(null))
    await app.register(multipart, { throwFileSizeLimit: true })

    /**
     * Receives one upload into a job: this client's cap, the gateway's capacity and a drain are
     * checked before any byte is read (and before 100 Continue); the upload stops when the client
     * goes away, its body goes silent or the drain deadline passes.
     */
    async function receive(request: FastifyRequest, reply: FastifyReply, model: AsyncModel, gone: AbortSignal): Promise<JobView> {
      const releaseClientSlot = clientUploads.acquire(request)
      let lease: UploadLease | undefined
      try {
        lease = lifecycle.acquireUpload()
        const idle = bodyIdleSignal(request)
        const signal = AbortSignal.any([gone, lease.signal, ...(idle ? [idle] : [])])
        let upload: Upload
        if (request.isMultipart()) {
          continueIfExpected(request, reply)
          upload = await multipartUpload(request, model.maxBytes, model.contentTypes, signal)
        } else {
          upload = rawUpload(request)
        }
        const { tenant, keyId } = request.principal
        const hook = upload.webhookUrl ?? request.headers['x-webhook-url']
        const webhookUrl = typeof hook === 'string' ? checkWebhookUrl(hook) : undefined
        return await jobs.createJob({
          model,
          signal,
          ...upload,
          ...(webhookUrl !== undefined ? { webhookUrl } : {}),
          owner: { tenant, keyId },
          beforeRead: () => continueIfExpected(request, reply),
        })
      } finally {
        lease?.release()
        releaseClientSlot()
      }
    }

    app.post(
      '/models/:name/jobs',
      {
        schema: {
          tags: ['jobs'],
          summary: 'Start an asynchronous job from an upload',
          description: CREATE_JOB,
          operationId: 'createJob',
          params: ModelParams,
          headers: CreateJobHeaders,
          requestBody: {
            content: {
              'multipart/form-data': {
                schema: z.object({
                  customAttributes: z.string().max(1024).optional().describe('Same as the `X-Custom-Attributes` header; must come before the file.'),
                  webhookUrl: z.string().max(2048).optional().describe('Same as the `X-Webhook-Url` header; must come before the file.'),
                  file: Binary.describe(
                    "The input; its part `Content-Type` must be one the model accepts. A part sent as `application/octet-stream` or without a type (text/plain) that the model does not take as such gets its type from the file name's extension, else from its first bytes.",
                  ),
                }),
              },
              '*/*': { schema: Binary.describe("The input, with its own Content-Type (one the model accepts) and at most the model's `maxBytes`.") },
            },
          },
          response: {
            200: json(Job, 'The job an earlier request with the same Idempotency-Key created', { ...LOCATION, 'Idempotent-Replayed': { type: 'string', const: 'true' } }),
            202: json(Job, 'The job was created and queued', LOCATION),
            400: problem(
              'Empty body (`empty_body`), bad custom attributes (`invalid_custom_attributes`), a webhook URL the gateway will not call (`webhook_not_allowed`), a malformed form or Idempotency-Key',
            ),
            403: problem('The API key may not use this model (`model_not_allowed`)'),
            404: problem('No such model (`model_not_found`)'),
            408: problem('The body sent no byte for `upload.idleTimeoutMs` (`request_timeout`); the connection is closed'),
            409: problem('A real-time model (`wrong_model_mode`), or the Idempotency-Key is still in use (`idempotency_key_in_use`, with `Retry-After`)'),
            413: problem("Over the model's `maxBytes` (`payload_too_large`): a Content-Length over it is refused before reading, a stream that crosses it is stopped"),
            415: problem('A content type the model does not accept (`unsupported_media_type`, with `accepted`), or a declared video whose first bytes are not one (`content_mismatch`)'),
            422: problem('The Idempotency-Key was used for another request (`idempotency_key_reused`)'),
            502: problem('S3 or SageMaker failed (`upstream_error`)'),
            504: problem('S3 or SageMaker did not answer within its deadline (`upstream_timeout`)', RETRY_AFTER),
            ...limitedProblems,
            503: problem(
              'SageMaker throttles or is unavailable, S3 fails (`upstream_unavailable`), the gateway already receives `limits.maxConcurrentUploads` uploads (`too_many_uploads`, answered before any byte is read and before 100 Continue), is shutting down (`shutting_down`) or overloaded (`overloaded`)',
              RETRY_AFTER,
            ),
          },
        },
      },
      async (request, reply) => {
      const model = await jobs.asyncModel(request.params.name)
      // A callback the gateway will not call is refused before the body is read (or 100 Continue sent).
      const hook = request.headers['x-webhook-url']
      if (typeof hook === 'string') checkWebhookUrl(hook)
      const gone = clientGone(request, reply)
      const key = idempotencyKeyOf(request.headers['idempotency-key'])
      const length = request.headers['content-length']
      const claim =
        key === undefined
          ? undefined
          : await idempotency.claim({ tenant: request.principal.tenant, key, model: model.name, ...(length !== undefined ? { requestBytes: Number(length) } : {}) }, gone)
      if (claim?.kind === 'replay') {
        // The same job again, its body not read (and not stored again): close rather than drain it.
        if (!request.raw.complete) void reply.header('connection', 'close')
        const job = await jobs.getJob(claim.jobId, request.principal.tenant, gone)
        return reply.code(200).header('location', job.links.self).header(REPLAYED_HEADER, 'true').send(job)
      }
      try {
        const job = await receive(request, reply, model, gone)
        await claim?.finish(job.id)
        return reply.code(202).header('location', job.links.self).send(job)
      } catch (err) {
        // The first request with this key failed: the key is free for the retry.
        await claim?.release()
        throw err
      }
      },
    )

    // Declared before the GET so that Fastify does not derive a HEAD from it (which would read the
    // whole result from S3 only to discard it): headers from a HEAD of the output.
    app.head(
      '/jobs/:id/result',
      {
        // A HEAD of its own (not Fastify's copy of the GET): documented.
        config: { swagger: { exposeHeadRoute: true } },
        schema: {
          tags: ['jobs'],
          summary: "The output's headers, from the job record and one S3 HEAD of the output (no result bytes are read)",
          operationId: 'jobResult',
          params: JobParams,
          headers: ResultHeaders,
          response: {
            200: noBody('As GET, without a body', { ...RESULT_HEADERS, 'Content-Length': { type: 'integer' } }),
            206: noBody('As GET, without a body', { ...RESULT_HEADERS, 'Content-Range': { type: 'string' } }),
            304: noBody("The client's copy (If-None-Match) is current", RESULT_HEADERS),
            ...resultProblems,
          },
        },
      },
      async (request, reply) => {
        const head = await jobs.headResult(request.params.id, request.principal.tenant, resultConditions(request.headers), clientGone(request, reply))
        return reply.code(head.statusCode).headers(head.headers).send()
      },
    )

    // 200 (or 206, or 304 with no body) with the headers that keep a browser from running the output.
    app.get(
      '/jobs/:id/result',
      {
        schema: {
          tags: ['jobs'],
          summary: "Stream the job's output",
          description: RESULT_DESCRIPTION,
          operationId: 'getJobResult',
          params: JobParams,
          headers: ResultHeaders,
          response: {
            200: bytes("The whole output, with the model's content type", { ...RESULT_HEADERS, 'Content-Length': { type: 'integer' }, 'Accept-Ranges': { type: 'string', const: 'bytes' } }),
            206: bytes('The requested range, with the same headers as 200', { ...RESULT_HEADERS, 'Content-Range': { type: 'string' } }),
            304: noBody("The client's copy (If-None-Match) is current; no body", RESULT_HEADERS),
            ...resultProblems,
          },
        },
      },
      async (request, reply) => {
        const result = await jobs.openResult(request.params.id, request.principal.tenant, resultConditions(request.headers), clientGone(request, reply))
        return reply.code(result.statusCode).headers(result.headers).send(result.body)
      },
    )
  }
}
