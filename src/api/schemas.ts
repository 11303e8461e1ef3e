import { z } from 'zod'
import { MODEL_NAME_PATTERN } from '../config.js'
import { PROBLEM_CODES } from '../errors.js'
import { FAILURE_SUMMARIES } from '../services/job-record.js'

/**
 * The API's schemas: each route declares its params, query, headers and responses with these
 * (routes/*.ts), which gives request validation, typed handlers and checked serialization from one
 * place, and openapi.yaml is generated from the routes (api/openapi.ts). Schemas with a `meta` id
 * become components of the description.
 *
 * Header objects are loose (a request carries many other headers, all kept); the header values
 * checked by the services (custom attributes, Idempotency-Key) are only typed here, so that their
 * problem codes stay the specific ones (`invalid_custom_attributes`, `invalid_idempotency_key`).
 */

// ---- path parameters -------------------------------------------------------------------------

export const ModelName = z
  .string()
  .regex(MODEL_NAME_PATTERN)
  .describe("A model's name as GET /models lists it: lowercase letters, digits, '.', '_' and '-', at most 64.")

export const JobId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22}$/)
  .describe('22 characters of base64url (128 random bits); also the SageMaker InferenceId.')

export const ModelParams = z.object({ name: ModelName })
export const JobParams = z.object({ id: JobId })

// ---- bodies ------------------------------------------------------------------------------------

export const Problem = z
  .looseObject({
    type: z.string().describe('`urn:sagegate:problem:<code>`'),
    title: z.string().describe("The HTTP status's reason phrase"),
    status: z.int().min(400).max(599).describe('The HTTP status code (RFC 9457)'),
    code: z.enum(PROBLEM_CODES).describe('Stable machine-readable code.'),
    detail: z.string().describe('What went wrong, for a human; never internals (5xx messages are fixed).'),
    instance: z.string().optional().describe('The request target'),
    requestId: z.string().describe('Also in the `X-Request-Id` response header; quote it in support requests.'),
    jobStatus: z
      .enum(['in_progress', 'failed', 'expired', 'canceled'])
      .optional()
      .describe('`job_not_completed` only: the state of the job whose result was asked for.'),
    accepted: z.array(z.string()).optional().describe("`unsupported_media_type`: the model's accepted content types."),
    maxBytes: z.int().optional().describe("`payload_too_large`: the model's limit."),
    mode: z.enum(['async', 'realtime']).optional().describe("`wrong_model_mode`: the model's mode."),
    modelStatus: z.int().optional().describe('`model_rejected_input`, `model_error`: the status the model answered.'),
    modelMessage: z.string().optional().describe("`model_rejected_input`: the model's own message (4xx only)."),
    declared: z.string().optional().describe('`content_mismatch`: the declared type the first bytes do not match.'),
    sizeBytes: z.int().optional().describe("`range_not_satisfiable`: the output's size."),
    idleTimeoutMs: z.int().optional().describe('`request_timeout`: how long the body may send nothing.'),
    maxConcurrentUploads: z.int().optional().describe('`too_many_uploads`: the limit that was reached.'),
    requestsPerMinute: z.int().optional().describe("`rate_limited`: the API key's limit."),
    reason: z.string().optional().describe('`webhook_not_allowed`: why the URL is refused.'),
  })
  .meta({
    id: 'Problem',
    description:
      'An RFC 9457 problem document (`application/problem+json`). Members other than the RFC\'s and `code`/`requestId` depend on the code; unknown members must be ignored.',
  })

export const Model = z
  .object({
    name: z.string(),
    mode: z.enum(['async', 'realtime']).describe('`async`: POST /models/{name}/jobs; `realtime`: POST /models/{name}/predict.'),
    endpointName: z.string(),
    contentTypes: z.array(z.string()).describe('The content types the model accepts (`type/*` wildcards allowed).'),
    maxBytes: z.int().describe('The largest input the model takes, in bytes.'),
    streaming: z.boolean().optional().describe('Real-time models only; true when `?stream=true` is supported.'),
    discovered: z.boolean().optional().describe("Found as an artifact under a multi-model endpoint's model prefix."),
    description: z.string().optional(),
  })
  .meta({ id: 'Model' })

export const ModelList = z.object({ models: z.array(Model).describe('The models this API key may use, by name.') })

const FAILURE_CODES = [...(Object.keys(FAILURE_SUMMARIES) as (keyof typeof FAILURE_SUMMARIES)[]), 'Expired'] as const

export const Job = z
  .object({
    id: JobId,
    model: z.string(),
    status: z
      .enum(['in_progress', 'completed', 'failed', 'expired', 'canceled'])
      .describe('`canceled`: deleted while in progress (DELETE /jobs/{id}); its data goes once the endpoint has given up on it.'),
    createdAt: z.string().meta({ format: 'date-time' }),
    deadlineAt: z.string().meta({ format: 'date-time' }).describe('After this instant a job with no outcome is reported as expired.'),
    input: z.object({
      contentType: z.string(),
      sizeBytes: z.int(),
      filename: z.string().optional().describe("The upload's file name (multipart uploads), at most 255 characters."),
    }),
    result: z.object({ contentType: z.string(), sizeBytes: z.int() }).optional().describe('Present when completed.'),
    error: z
      .object({
        code: z
          .enum(FAILURE_CODES)
          .describe(
            '`ModelError`: the model failed (any error body of its own); `RequestExpired`: the request outlived its queue TTL; `InvocationTimeout`: the model did not finish in time; `InputDownloadFailed`, `ModelInvocationFailed`: the runtime could not read the input or call the model; `Expired`: no outcome before `deadlineAt`.',
          ),
        message: z.string().describe("The code's fixed summary."),
      })
      .optional()
      .describe("Present when failed or expired. The model's own error text is logged by the gateway, never returned."),
    canceledAt: z.string().meta({ format: 'date-time' }).optional().describe('When the job was canceled (DELETE while in progress).'),
    links: z.object({ self: z.string(), result: z.string() }),
  })
  .meta({ id: 'Job' })

const DependencyState = z.enum(['ok', 'unreachable', 'unknown'])

export const Readiness = z
  .object({
    status: z.enum(['ready', 'draining']),
    checks: z
      .object({ storage: DependencyState.optional(), runtime: DependencyState.optional() })
      .describe('The last background check of each dependency (`unknown` before the first).'),
  })
  .meta({ id: 'Readiness' })

export const Health = z.object({ status: z.literal('ok') })

/** A body that is bytes, not JSON (uploads, model answers, results): documented, never serialized. */
export const Binary = z.any().meta({ type: 'string', format: 'binary' })

// ---- request headers and query -------------------------------------------------------------------

export const CustomAttributesHeader = z
  .string()
  .optional()
  .describe('Passed to the model as SageMaker CustomAttributes: at most 1024 printable ASCII characters, e.g. `fps=2`. Checked by the gateway (`invalid_custom_attributes`).')

export const WEBHOOK_URL_DESCRIPTION =
  'A URL the gateway POSTs the job to when it ends (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` signed with `webhooks.secret`), retried on non-2xx or timeout (after 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h, for up to `webhooks.retryForMs`, 24 h) with the same `webhook-id`. Only hosts in `webhooks.allowedHosts`, never a private or link-local address unless listed; otherwise 400 `webhook_not_allowed`.'

export const CreateJobHeaders = z.looseObject({
  'x-custom-attributes': CustomAttributesHeader,
  'idempotency-key': z
    .string()
    .optional()
    .describe(
      'Makes a retry safe: 1–255 printable ASCII characters, per tenant, remembered `idempotency.ttlSeconds` (24 h by default). A retry with the same key gets the same job (200, `Idempotent-Replayed: true`) without its body being read or stored again; the same key for another model or another `Content-Length` is 422 `idempotency_key_reused`; while the first request is still uploading, 409 `idempotency_key_in_use` (with `Retry-After`). A first request that fails frees the key. A malformed key is 400 `invalid_idempotency_key`.',
    ),
  'x-webhook-url': z.string().max(2048).optional().describe(WEBHOOK_URL_DESCRIPTION),
})

export const PredictHeaders = z.looseObject({
  'x-custom-attributes': CustomAttributesHeader,
  'x-inference-id': z.string().optional().describe('SageMaker InferenceId (1–64 printable ASCII), echoed in the response.'),
})

export const PredictQuery = z.looseObject({
  stream: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('`true` streams the answer as it is produced (models marked `streaming`).'),
})

export const JobQuery = z.looseObject({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(60)
    .optional()
    .describe('Seconds (0–60) to hold the answer while the job is `in_progress`: it comes as soon as the job ends, else at the end of the wait with the current state.'),
})

export const JobHeaders = z.looseObject({
  prefer: z
    .string()
    .optional()
    .describe('RFC 7240 `wait=N`: as `?wait=N` (N above 60 counts as 60); answered with `Preference-Applied`. `?wait` wins when both are given.'),
})

export const JobEventsHeaders = z.looseObject({
  'last-event-id': z.string().max(64).optional().describe('The `id` of the last event received (a status): that status is not sent again; when it is the final one, 204.'),
})

export const ResultHeaders = z.looseObject({
  range: z.string().optional().describe('A single byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`); other forms are ignored and the whole output is sent.'),
  'if-none-match': z
    .string()
    .optional()
    .describe("`*` or a list of entity tags, compared weakly with the output's `ETag` (RFC 9110 §13.1.2). A match answers 304 without reading the output; it is evaluated before `Range`."),
})
