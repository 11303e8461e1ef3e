import multipart, { type MultipartFile, type Multipart } from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Readable } from 'node:stream'
import { errors } from '../errors.js'
import type { JobService } from '../services/job-service.js'
import type { Lifecycle } from '../services/lifecycle.js'
import { bodyIdleSignal } from './client-watch.js'
import { abortable, clientGone, continueIfExpected, CUSTOM_ATTRIBUTES_HEADER } from './http.js'

const OPTION_FIELDS = new Set(['customAttributes'])

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
async function multipartUpload(request: FastifyRequest, maxBytes: number, signal: AbortSignal): Promise<Upload> {
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
    return {
      body: file.file,
      contentType: file.mimetype,
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

export function jobRoutes(jobs: JobService, lifecycle: Lifecycle) {
  return async (app: FastifyInstance) => {
    // Bodies are streams here: no parser may read them. multipart/form-data gets the multipart
    // parser (which also reads nothing until asked); everything else is passed through untouched.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (_request, _payload, done) => done(null))
    await app.register(multipart, { throwFileSizeLimit: true })

    app.post<{ Params: { name: string } }>('/models/:name/jobs', async (request, reply) => {
      const model = await jobs.asyncModel(request.params.name)
      // Before any byte is read (and before 100 Continue): the gateway's capacity, or a drain.
      const lease = lifecycle.acquireUpload()
      try {
        const idle = bodyIdleSignal(request)
        const signal = AbortSignal.any([clientGone(request, reply), lease.signal, ...(idle ? [idle] : [])])
        let upload: Upload
        if (request.isMultipart()) {
          continueIfExpected(request, reply)
          upload = await multipartUpload(request, model.maxBytes, signal)
        } else {
          upload = rawUpload(request)
        }
        const job = await jobs.createJob({ model, signal, ...upload, beforeRead: () => continueIfExpected(request, reply) })
        return reply.code(202).header('location', job.links.self).send(job)
      } finally {
        lease.release()
      }
    })

    app.get<{ Params: { id: string } }>('/jobs/:id', async (request, reply) => jobs.getJob(request.params.id, clientGone(request, reply)))

    // Declared before the GET so that Fastify does not derive a HEAD from it (which would read the
    // whole result from S3 only to discard it): headers from a HEAD of the output.
    app.head<{ Params: { id: string } }>('/jobs/:id/result', async (request, reply) => {
      const head = await jobs.headResult(request.params.id, request.headers.range, clientGone(request, reply))
      return reply.code(head.statusCode).headers(head.headers).send()
    })

    app.get<{ Params: { id: string } }>('/jobs/:id/result', async (request, reply) => {
      const result = await jobs.openResult(request.params.id, request.headers.range, clientGone(request, reply))
      return reply.code(result.statusCode).headers(result.headers).send(result.body)
    })
  }
}
