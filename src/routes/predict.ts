import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Readable } from 'node:stream'
import { mayUse } from '../services/keyring.js'
import type { PredictService, RealtimeModel } from '../services/predict-service.js'
import { bodyIdleSignal } from './client-watch.js'
import { clientGone, continueIfExpected, CUSTOM_ATTRIBUTES_HEADER, readSmallBody } from './http.js'

/** Headers of the real-time route (documented in openapi.yaml). */
const INFERENCE_ID_HEADER = 'x-inference-id'
const INVOKED_VARIANT_HEADER = 'x-invoked-variant'
// InvokeEndpoint bodies are at most 6 MiB: the largest a real-time model may accept.
const REALTIME_BODY_LIMIT = 6 * 1024 * 1024

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v)

export function predictRoutes(predict: PredictService) {
  // The model looked up before the body is read (for its size limit), reused by the handler.
  const resolved = new WeakMap<FastifyRequest, RealtimeModel>()
  return async (app: FastifyInstance) => {
    // Real-time bodies are small (≤ 6 MiB) and must reach SageMaker byte for byte: read them as raw
    // bytes whatever their type, never parsed; a body that goes idle is answered 408.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (request, payload, done) => {
      readSmallBody(payload, REALTIME_BODY_LIMIT, bodyIdleSignal(request)).then((body) => done(null, body), done)
    })

    app.post<{ Params: { name: string }; Querystring: { stream?: string } }>(
      '/models/:name/predict',
      {
        // Refuse an oversize body by its Content-Length before reading any of it.
        preParsing: async (request, reply, payload) => {
          const model = await predict.realtimeModel(request.params.name)
          resolved.set(request, model)
          const length = Number(request.headers['content-length'] ?? 0)
          if (length > model.maxBytes) throw await predict.tooLarge(model, request.headers['content-type'], (name) => mayUse(request.principal, name))
          continueIfExpected(request, reply)
          return payload
        },
      },
      async (request, reply) => {
        const model = resolved.get(request) ?? (await predict.realtimeModel(request.params.name))
        const input = {
          model,
          body: (request.body as Buffer | undefined) ?? Buffer.alloc(0),
          contentType: request.headers['content-type'],
          accept: single(request.headers.accept),
          customAttributes: single(request.headers[CUSTOM_ATTRIBUTES_HEADER]),
          inferenceId: single(request.headers[INFERENCE_ID_HEADER]),
          signal: clientGone(request, reply),
          mayUse: (name: string) => mayUse(request.principal, name),
        }
        const stream = request.query.stream === 'true' || request.query.stream === '1'
        const result = stream ? await predict.predictStream(input) : await predict.predict(input)
        void reply.header('content-type', result.contentType ?? 'application/octet-stream')
        if (result.invokedVariant !== undefined) void reply.header(INVOKED_VARIANT_HEADER, result.invokedVariant)
        if (result.customAttributes !== undefined) void reply.header(CUSTOM_ATTRIBUTES_HEADER, result.customAttributes)
        if (input.inferenceId !== undefined) void reply.header(INFERENCE_ID_HEADER, input.inferenceId)
        if ('body' in result) return reply.send(Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength))
        // Chunks go out as they arrive (chunked encoding). A model failure mid-stream destroys the
        // response, so the client sees a truncated chunked body (no terminating chunk): detectable.
        const body = Readable.from(result.chunks, { objectMode: false })
        body.on('error', (err) => request.log.warn({ err }, 'model stream failed mid-response'))
        return reply.send(body)
      },
    )
  }
}
