/**
 * One error type for everything the gateway answers with: a stable machine-readable `code`, an HTTP
 * status, optional details for the problem document, extra response headers (Retry-After) and the
 * underlying `cause`. Routes throw these; the single error handler turns them into RFC 9457
 * `application/problem+json`.
 */
export interface AppErrorOptions {
  details?: Record<string, unknown>
  headers?: Record<string, string>
  cause?: unknown
}

export class AppError extends Error {
  readonly details: Record<string, unknown> | undefined
  readonly headers: Record<string, string> | undefined

  constructor(
    readonly code: string,
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
  wrongMode: (name: string, mode: string, want: string) =>
    new AppError('wrong_model_mode', 409, `Model "${name}" is a ${mode} model; use the ${want === 'async' ? 'jobs' : 'predict'} route.`, {
      details: { mode },
    }),
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
  notCompleted: (status: string) =>
    new AppError('job_not_completed', 409, `The job is ${status}; its result is not available.`, { details: { status } }),
  rangeNotSatisfiable: (sizeBytes: number) =>
    new AppError('range_not_satisfiable', 416, 'The requested range is not satisfiable.', {
      headers: { 'content-range': `bytes */${sizeBytes}` },
      details: { sizeBytes },
    }),
  clientClosed: () => new AppError('client_closed_request', 499, 'The client closed the request.'),
  upstreamUnavailable: (service: string, retryAfterSeconds: number, cause?: unknown) =>
    new AppError('upstream_unavailable', 503, `${service} is temporarily unavailable; retry later.`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause,
    }),
  upstreamFailed: (service: string, cause?: unknown) =>
    new AppError('upstream_error', 502, `${service} failed to handle the request.`, { cause }),
}
