import type { ServerResponse } from 'node:http'

/**
 * Errors on the runtime's wire, encoded the way AWS rest-json services do it: the status, an
 * `x-amzn-ErrorType` header naming the shape (the SDKs take the error class from it), a JSON body with
 * the message and the shape's extra members, and `x-amzn-RequestId`.
 */
export class RuntimeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorType: string,
    message: string,
    readonly members: Record<string, unknown> = {},
    /**
     * Modelled sagemaker-runtime errors carry `Message`; the AWS front door's own errors (auth, unknown
     * operation) carry lower-case `message`. The SDKs read either.
     */
    readonly messageKey: 'Message' | 'message' = 'Message',
  ) {
    super(message)
    this.name = errorType
  }
}

export const validationError = (message: string): RuntimeError => new RuntimeError(400, 'ValidationError', message)
export const internalFailure = (message = 'An internal failure occurred.'): RuntimeError =>
  new RuntimeError(500, 'InternalFailure', message)

/** Messages the real service uses, kept together so fidelity fixes happen in one place. */
export const messages = {
  /** Confirmed wording (sagemaker-notes). */
  endpointNotFound: (name: string, accountId: string) => `Endpoint ${name} of account ${accountId} not found.`,
  /** Unconfirmed wording: InvokeEndpoint / InvokeEndpointWithResponseStream on an async endpoint. */
  asyncEndpointInvokedSynchronously: (name: string, accountId: string) =>
    `Endpoint ${name} of account ${accountId} is an asynchronous endpoint; use InvokeEndpointAsync.`,
  /** Unconfirmed wording: InvokeEndpointAsync on an endpoint without AsyncInferenceConfig. */
  realtimeEndpointInvokedAsynchronously: (name: string, accountId: string) =>
    `Endpoint ${name} of account ${accountId} is not configured for asynchronous inference.`,
  /** Unconfirmed wording: the 2026 model makes Body and InputLocation mutually exclusive. */
  bodyAndInputLocation: 'Body and InputLocation are mutually exclusive. Provide exactly one of them.',
  /** Local-only: real-time invocation arrives with the next issue. */
  realtimeNotImplemented: (name: string) =>
    `Endpoint ${name}: real-time invocation is not implemented by the local runtime yet.`,
} as const

export const authErrors = {
  unrecognizedClient: () =>
    new RuntimeError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.', {}, 'message'),
  invalidSignature: (message: string) => new RuntimeError(403, 'InvalidSignatureException', message, {}, 'message'),
  missingToken: () => new RuntimeError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token', {}, 'message'),
} as const

/** A path/method no operation matches. AWS front doors answer these with UnknownOperationException. */
export const unknownOperation = (): RuntimeError => new RuntimeError(404, 'UnknownOperationException', 'Unknown operation', {}, 'message')

export function sendJson(res: ServerResponse, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(statusCode, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  })
  res.end(text)
}

export function sendError(res: ServerResponse, err: RuntimeError): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  sendJson(res, err.statusCode, { [err.messageKey]: err.message, ...err.members }, { 'x-amzn-ErrorType': err.errorType })
}
