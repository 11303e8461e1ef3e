/**
 * One error type for everything the gateway answers with: a stable machine-readable `code`, an HTTP
 * status, optional details for the problem document, extra response headers (Retry-After) and the
 * underlying `cause`. Routes throw these; the single error handler turns them into RFC 9457
 * `application/problem+json`.
 */
/**
 * Every `code` a problem document can carry: the API's stable vocabulary (the problem schema's enum
 * in openapi.yaml is generated from this list, and AppError accepts nothing else).
 */
export const PROBLEM_CODES = [
  'bad_request',
  'empty_body',
  'invalid_custom_attributes',
  'too_many_files',
  'too_many_parts',
  'too_many_fields',
  'model_not_found',
  'job_not_found',
  'route_not_found',
  'wrong_model_mode',
  'job_not_completed',
  'payload_too_large',
  'unsupported_media_type',
  'content_mismatch',
  'range_not_satisfiable',
  'internal_error',
  'corrupt_job_record',
  'upstream_error',
  'upstream_unavailable',
  'upstream_timeout',
  'request_timeout',
  'too_many_uploads',
  'shutting_down',
  'client_closed_request',
  'streaming_not_supported',
  'model_rejected_input',
  'unsupported_language',
  'model_error',
  'model_timeout',
  'model_not_ready',
  'target_model_not_found',
  'invalid_request',
  'unauthorized',
  'model_not_allowed',
  'rate_limited',
  'overloaded',
  'invalid_idempotency_key',
  'idempotency_key_reused',
  'idempotency_key_in_use',
  'expectation_failed',
  'uri_too_long',
  'upload_not_found',
  'upload_offset_mismatch',
  'upload_expired',
  'tus_resumable_required',
  'webhook_not_allowed',
  'sns_signature_invalid',
  'sns_topic_not_allowed',
] as const

export type ProblemCode = (typeof PROBLEM_CODES)[number]

export interface AppErrorOptions {
  details?: Record<string, unknown>
  headers?: Record<string, string>
  cause?: unknown
}

export class AppError extends Error {
  readonly details: Record<string, unknown> | undefined
  readonly headers: Record<string, string> | undefined

  constructor(
    readonly code: ProblemCode,
    readonly statusCode: number,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AppError'
    this.details = options.details
    this.headers = options.headers
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError

export const errors = {
  modelNotFound: (name: string) => new AppError('model_not_found', 404, `No model named "${name}" is configured.`),
  jobNotFound: () => new AppError('job_not_found', 404, 'No such job.'),
  /** The model's mode decides its route: async models take jobs, real-time models predict calls. */
  wrongMode: (name: string, mode: 'async' | 'realtime') =>
    new AppError(
      'wrong_model_mode',
      409,
      `Model "${name}" is ${mode === 'async' ? 'an async' : 'a real-time'} model; use POST /models/${name}/${mode === 'async' ? 'jobs' : 'predict'}.`,
      { details: { mode } },
    ),
  unsupportedMediaType: (got: string | undefined, accepted: readonly string[]) =>
    new AppError(
      'unsupported_media_type',
      415,
      got === undefined || got === '' ? 'The request has no Content-Type.' : `Content type "${got}" is not accepted by this model.`,
      { details: { accepted } },
    ),
  contentMismatch: (declared: string) =>
    new AppError('content_mismatch', 415, `The body does not look like ${declared}: its first bytes are not a ${declared} file.`, {
      details: { declared },
    }),
  payloadTooLarge: (maxBytes: number, hint?: string) =>
    new AppError('payload_too_large', 413, `The body is larger than this model's limit of ${maxBytes} bytes.${hint === undefined ? '' : ` ${hint}`}`, {
      details: { maxBytes },
    }),
  emptyBody: () => new AppError('empty_body', 400, 'The request body is empty.'),
  badRequest: (message: string, details?: Record<string, unknown>) =>
    new AppError('bad_request', 400, message, details === undefined ? {} : { details }),
  invalidCustomAttributes: (message: string) => new AppError('invalid_custom_attributes', 400, message),
  notCompleted: (jobStatus: string) =>
    new AppError('job_not_completed', 409, `The job is ${jobStatus}; its result is not available.`, { details: { jobStatus } }),
  rangeNotSatisfiable: (sizeBytes: number) =>
    new AppError('range_not_satisfiable', 416, 'The requested range is not satisfiable.', {
      headers: { 'content-range': `bytes */${sizeBytes}` },
      details: { sizeBytes },
    }),
  /** Not an answer (nobody is left to read it): a normal event, logged and counted, never a 5xx. */
  clientClosed: (bytesReceived?: number) =>
    new AppError('client_closed_request', 499, 'The client closed the request.', bytesReceived === undefined ? {} : { details: { bytesReceived } }),
  /** RFC 9110 §15.5.9: the client sent nothing for too long; the connection is closed after this answer. */
  requestTimeout: (idleMs: number) =>
    new AppError('request_timeout', 408, `The request body sent no byte for ${idleMs} ms.`, { headers: { connection: 'close' }, details: { idleTimeoutMs: idleMs } }),
  /** The gateway's own capacity (per-client limits are 429s). */
  tooManyUploads: (max: number) =>
    new AppError('too_many_uploads', 503, `The gateway is already receiving ${max} uploads; retry shortly.`, { headers: { 'retry-after': '5' }, details: { maxConcurrentUploads: max } }),
  shuttingDown: () =>
    new AppError('shutting_down', 503, 'This gateway instance is shutting down; retry (another instance will answer).', {
      headers: { 'retry-after': '1', connection: 'close' },
    }),
  /** RFC 6750 §3: the challenge says a key is needed; `invalid_token` when one was sent but is not known. */
  unauthorized: (presented: boolean) =>
    new AppError('unauthorized', 401, presented ? 'The API key is not valid.' : 'An API key is required: send "Authorization: Bearer <key>" or "X-Api-Key: <key>".', {
      headers: { 'www-authenticate': presented ? 'Bearer realm="sagegate", error="invalid_token"' : 'Bearer realm="sagegate"' },
    }),
  modelNotAllowed: (name: string) => new AppError('model_not_allowed', 403, `This API key may not use the model "${name}".`),
  rateLimited: (retryAfterSeconds: number, perMinute: number) =>
    new AppError('rate_limited', 429, `Too many requests for this API key (${perMinute} per minute); retry in ${retryAfterSeconds} s.`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
      details: { requestsPerMinute: perMinute },
    }),
  /** This client's own cap on uploads at once (the gateway's capacity is the 503 tooManyUploads). */
  tooManyClientUploads: (max: number, who: 'API key' | 'client address' = 'API key') =>
    new AppError('too_many_uploads', 429, `This ${who} already has ${max} uploads in progress; retry when one ends.`, {
      headers: { 'retry-after': '5' },
      details: { maxConcurrentUploads: max },
    }),
  overloaded: () => new AppError('overloaded', 503, 'The gateway is overloaded; retry shortly.', { headers: { 'retry-after': '5' } }),
  invalidIdempotencyKey: () =>
    new AppError('invalid_idempotency_key', 400, 'The Idempotency-Key must be 1-255 printable ASCII characters, sent once.'),
  idempotencyKeyReused: (why: string) =>
    new AppError('idempotency_key_reused', 422, `This Idempotency-Key was used for a different request (${why}); use a new key.`),
  idempotencyKeyInUse: () =>
    new AppError('idempotency_key_in_use', 409, 'A request with this Idempotency-Key is still in progress; retry once it has finished.', {
      headers: { 'retry-after': '5' },
    }),
  expectationFailed: () => new AppError('expectation_failed', 417, 'The Expect header cannot be met; only 100-continue is supported.'),
  corruptJobRecord: (cause?: unknown) => new AppError('corrupt_job_record', 500, 'The job record is unreadable.', { cause }),
  upstreamTimeout: (service: string, retryAfterSeconds: number, cause?: unknown) =>
    new AppError('upstream_timeout', 504, `${service} did not answer in time; retry later.`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause,
    }),
  upstreamUnavailable: (service: string, retryAfterSeconds: number, cause?: unknown) =>
    new AppError('upstream_unavailable', 503, `${service} is temporarily unavailable; retry later.`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause,
    }),
  /** A job's callback URL that the gateway will not call (webhooks.allowedHosts, SSRF rules). */
  webhookNotAllowed: (reason: string) => new AppError('webhook_not_allowed', 400, `The webhook URL is not allowed: ${reason}.`, { details: { reason } }),
  /** Amazon SNS signs what it posts: anything unsigned, forged, stale or from a foreign certificate is refused. */
  snsSignatureInvalid: (why: string) => new AppError('sns_signature_invalid', 403, `The SNS message was refused: ${why}`),
  snsTopicNotAllowed: () => new AppError('sns_topic_not_allowed', 403, 'Messages from this SNS topic are not accepted here.'),
  upstreamFailed: (service: string, cause?: unknown) =>
    new AppError('upstream_error', 502, `${service} failed to handle the request.`, { cause }),
}
