import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { bytes, limitedProblems, problem, RETRY_AFTER } from '../api/responses.js'
import { Binary, ModelParams, PredictHeaders, PredictQuery } from '../api/schemas.js'
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

const PREDICT = `The body (at most the model's \`maxBytes\`, never over 6 MiB) goes to SageMaker \`InvokeEndpoint\` byte for byte,
with \`Content-Type\` and \`Accept\` untouched (including
\`application/vnd.sagemaker-triton.binary+json;json-header-size=N\` and KServe v2 JSON), and the answer comes back
the same way with the model's content type. An answer over 64 KiB (or of no stated length) is forwarded as it
arrives, with the model's \`Content-Length\` when it states one; should it fail after the first byte (the model's
\`timeoutMs\` runs out, SageMaker's connection breaks), the response ends short of that length. Multi-model endpoints
are routed by the model's \`TargetModel\`; a model that is still loading (cold start) is retried with jittered
backoff before the gateway answers 503.

With \`?stream=true\` (models marked \`streaming\`), \`InvokeEndpointWithResponseStream\` is used and the bytes are
forwarded as they arrive (chunked). A model failure after the first byte ends the response without the terminating
chunk, which HTTP clients report as an incomplete body.

The predict path never waits on S3 for a model it already knows (multi-model listings are served stale while they
refresh).`

export function predictRoutes(predict: PredictService) {
  // The model looked up before the body is read (for its size limit), reused by the handler.
  const resolved = new WeakMap<FastifyRequest, RealtimeModel>()
  return async (plain: FastifyInstance) => {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    // Real-time bodies are small (≤ 6 MiB) and must reach SageMaker byte for byte: read them as raw
    // bytes whatever their type, never parsed; a body that goes idle is answered 408.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('*', (request, payload, done) => {
      readSmallBody(payload, REALTIME_BODY_LIMIT, bodyIdleSignal(request)).then((body) => done(null, body), done)
    })

    app.post(
      '/models/:name/predict',
      {
        schema: {
          tags: ['predict'],
          summary: 'Real-time inference',
          description: PREDICT,
          operationId: 'predict',
          params: ModelParams,
          querystring: PredictQuery,
          headers: PredictHeaders,
          requestBody: { content: { '*/*': { schema: Binary.describe("The model's input, with its own Content-Type.") } } },
          response: {
            200: bytes("The model's answer, byte for byte, with its content type", {
              'X-Invoked-Variant': { type: 'string', description: 'The production variant that answered' },
              'X-Custom-Attributes': { type: 'string', description: "The model's own custom attributes" },
              'X-Inference-Id': { type: 'string', description: 'The request\'s, echoed' },
            }),
            400: problem('SageMaker rejected the request (`invalid_request`), bad custom attributes, `?stream=true` for a model that does not stream (`streaming_not_supported`)'),
            403: problem('The API key may not use this model (`model_not_allowed`)'),
            404: problem('No such model (`model_not_found`), or a multi-model target whose artifact does not exist (`target_model_not_found`)'),
            408: problem('The body sent no byte for `upload.idleTimeoutMs` (`request_timeout`)'),
            409: problem('An async model (`wrong_model_mode`): it takes jobs'),
            413: problem("Over the model's `maxBytes` (`payload_too_large`), refused by its Content-Length before reading; the hint names an async model that takes it"),
            415: problem('A content type the model does not accept (`unsupported_media_type`)'),
            422: problem("The model rejected the input (its 4xx): `model_rejected_input` with `modelStatus` and `modelMessage`, or `unsupported_language`"),
            502: problem('The model failed (its 5xx: `model_error` with `modelStatus`), or SageMaker did (`upstream_error`)'),
            504: problem("The model did not answer within its `timeoutMs` (`model_timeout`), or SageMaker did not (`upstream_timeout`)"),
            ...limitedProblems,
            503: problem("The model is still loading past its `coldStartWaitMs` (`model_not_ready`), SageMaker throttles or is unavailable, or the gateway is overloaded", RETRY_AFTER),
          },
        },
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
        if ('stream' in result) {
          // A large answer goes out as it arrives, with the model's Content-Length when it sent one. A
          // failure after the first byte (the connection to the runtime breaks, the model's time runs
          // out) ends the response short of that length.
          if (result.contentLength !== undefined) void reply.header('content-length', result.contentLength)
          result.stream.on('error', (err) => {
            // A client that left has its call aborted: not the model's failure.
            if (!input.signal.aborted) request.log.warn({ err }, 'model answer failed mid-response')
          })
          return reply.send(result.stream)
        }
        // Chunks go out as they arrive (chunked encoding). A model failure mid-stream destroys the
        // response, so the client sees a truncated chunked body (no terminating chunk): detectable.
        const body = Readable.from(result.chunks, { objectMode: false })
        body.on('error', (err) => request.log.warn({ err }, 'model stream failed mid-response'))
        return reply.send(body)
      },
    )
  }
}
