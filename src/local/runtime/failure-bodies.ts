/**
 * Bodies of the failure objects the runtime writes itself (as opposed to a container's own error
 * response, which is stored as-is). AWS's wording for these is unconfirmed; the shape
 * `{errorMessage, errorCode}` is ours and the gateway keys on `errorCode`, so the codes are stable API.
 */
export interface FailureBody {
  errorMessage: string
  errorCode: string
}

/** The gateway recognises expiry by this code. */
export const REQUEST_EXPIRED_ERROR_CODE = 'RequestExpired'
export const INVOCATION_TIMEOUT_ERROR_CODE = 'InvocationTimeout'
export const INPUT_DOWNLOAD_ERROR_CODE = 'InputDownloadFailed'
export const MODEL_INVOCATION_ERROR_CODE = 'ModelInvocationFailed'

export const requestExpiredFailure = (requestTtlSeconds: number): FailureBody => ({
  errorMessage: `Request expired: not processed within RequestTTLSeconds (${requestTtlSeconds})`,
  errorCode: REQUEST_EXPIRED_ERROR_CODE,
})

export const invocationTimeoutFailure = (invocationTimeoutSeconds: number): FailureBody => ({
  errorMessage: `Model invocation timed out: no complete response within InvocationTimeoutSeconds (${invocationTimeoutSeconds})`,
  errorCode: INVOCATION_TIMEOUT_ERROR_CODE,
})

export const inputDownloadFailure = (inputLocation: string, reason: string): FailureBody => ({
  errorMessage: `Failed to download the input from ${inputLocation}: ${reason}`,
  errorCode: INPUT_DOWNLOAD_ERROR_CODE,
})

export const modelInvocationFailure = (reason: string): FailureBody => ({
  errorMessage: `Failed to invoke the model container: ${reason}`,
  errorCode: MODEL_INVOCATION_ERROR_CODE,
})
