import { errors, isAppError } from '../errors.js'
import { isDeadlineExceeded } from '../lib/deadline.js'

interface SdkError {
  name?: string
  code?: string
  $metadata?: { httpStatusCode?: number }
  $retryable?: unknown
}

/** HeadObject → `NotFound`, GetObject → `NoSuchKey`. A 403 is not "missing" (see README: s3:ListBucket). */
export const isMissing = (err: unknown): boolean => {
  const e = err as SdkError
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

/**
 * A connection refused, reset or not routable: the service is down or unreachable. Checked before
 * the error's name, because the SDK renames such errors "TimeoutError" too.
 */
export const isNetworkFailure = (err: unknown): boolean => NETWORK_CODES.has((err as SdkError).code ?? '')

/**
 * S3 errors → gateway errors. A deadline that expired (ours, or the SDK's per-attempt one once every
 * attempt timed out) is a 504; throttling, a 5xx or an unreachable S3 a 503; both with Retry-After.
 * An abort for any other reason (the client went away) is passed on unchanged. Anything else is a 502
 * whose detail is logged, not shown.
 */
export function translateS3Error(err: unknown, signal?: AbortSignal): Error {
  if (isAppError(err)) return err
  const e = err as SdkError
  if (signal?.aborted === true && isDeadlineExceeded(signal.reason)) return errors.upstreamTimeout('Storage', 5, err)
  if (e.name === 'AbortError') return err as Error
  if (isNetworkFailure(err)) return errors.upstreamUnavailable('Storage', 5, err)
  if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') return errors.upstreamTimeout('Storage', 5, err)
  const status = e.$metadata?.httpStatusCode ?? 0
  if (status === 503 || status === 500 || e.name === 'SlowDown' || e.$retryable !== undefined) {
    return errors.upstreamUnavailable('Storage', 5, err)
  }
  return errors.upstreamFailed('Storage', err)
}
