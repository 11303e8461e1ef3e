import multipart, { type MultipartFile, type Multipart } from '@fastify/multipart'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
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

const OPTION_FIELDS = new Set(['customAttributes'])
/** RFC 2046 §5.1.1: 1-70 bchars (DIGIT ALPHA ' ( ) + _ , - . / : = ? and space), not ending in a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/

type AsyncModel = NamedModel & AsyncModelConfig

interface Upload {
  body: Readable
  contentType: string | undefined
  declaredLength?: number
  filename?: string
  customAttributes?: string
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

export function jobRoutes(jobs: JobService, lifecycle: Lifecycle, clientUploads: ClientUploads, idempotency: Idempotency) {
  return async (app: FastifyInstance) => {
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
        return await jobs.createJob({ model, signal, ...upload, owner: { tenant, keyId }, beforeRead: () => continueIfExpected(request, reply) })
      } finally {
        lease?.release()
        releaseClientSlot()
      }
    }

    app.post<{ Params: { name: string } }>('/models/:name/jobs', async (request, reply) => {
      const model = await jobs.asyncModel(request.params.name)
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
    })

    app.get<{ Params: { id: string } }>('/jobs/:id', async (request, reply) => jobs.getJob(request.params.id, request.principal.tenant, clientGone(request, reply)))

    // Declared before the GET so that Fastify does not derive a HEAD from it (which would read the
    // whole result from S3 only to discard it): headers from a HEAD of the output.
    app.head<{ Params: { id: string } }>('/jobs/:id/result', async (request, reply) => {
      const head = await jobs.headResult(request.params.id, request.principal.tenant, resultConditions(request.headers), clientGone(request, reply))
      return reply.code(head.statusCode).headers(head.headers).send()
    })

    // 200 (or 206, or 304 with no body) with the headers that keep a browser from running the output.
    app.get<{ Params: { id: string } }>('/jobs/:id/result', async (request, reply) => {
      const result = await jobs.openResult(request.params.id, request.principal.tenant, resultConditions(request.headers), clientGone(request, reply))
      return reply.code(result.statusCode).headers(result.headers).send(result.body)
    })
  }
}
