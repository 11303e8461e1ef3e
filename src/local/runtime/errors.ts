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
  /** Confirmed wording (sagemaker-notes). */
  notMultiModel: (name: string) => `Endpoint ${name} is not a multi-model endpoint and does not support target model header.`,
  /** Seen from the real service as "Request <request id> is missing a target model header." */
  missingTargetModel: (requestId: string) => `Request ${requestId} is missing a target model header.`,
  /** Unconfirmed wording: the streaming operation has no TargetModel member, so an MME cannot serve it. */
  streamOnMultiModel: (name: string) =>
    `Endpoint ${name} is a multi-model endpoint and does not support InvokeEndpointWithResponseStream.`,
  /** Unconfirmed wording (sagemaker-notes: "Failed to download model data ..."); the gateway keys on that prefix. */
  modelDataNotFound: (bucket: string, key: string) =>
    `Failed to download model data(bucket: ${bucket}, key: ${key}). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.`,
  /** Local-only wording: an artifact that is not a safe .tar.gz. */
  modelDataInvalid: (bucket: string, key: string, reason: string) =>
    `Failed to extract model data(bucket: ${bucket}, key: ${key}): ${reason}`,
  /** Unconfirmed wording (ModelNotReadyException while a multi-model load continues). */
  modelNotReady: (targetModel: string) => `Model ${targetModel} is not ready yet; retry later.`,
  /** Local-only wording: S3 failed for another reason than a missing object. */
  modelDataUnavailable: (bucket: string, key: string) =>
    `Could not download model data(bucket: ${bucket}, key: ${key}) because of an error in an internal dependency. Retry the request later.`,
} as const

/**
 * What the container-side failure was, as ModelError's OriginalMessage. The timeout text is the real
 * service's; the others are local wording (unconfirmed), kept here so fidelity fixes happen in one place.
 */
export const originalMessages = {
  timeout:
    'Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.',
  unreachable: (reason: string) => `Could not connect to container primary: ${reason}.`,
  brokenResponse: 'Container primary closed the connection before its response was complete.',
  responseTooLarge: (maxBytes: number) => `The response from container primary is larger than the maximum of ${maxBytes} bytes.`,
  loadTimedOut: (targetModel: string, maxLoadMs: number) =>
    `Model ${targetModel} did not finish loading within ${maxLoadMs / 1000} seconds.`,
  /** OriginalStatusCode for failures that never got a status from the container (not a timeout: that is 0). */
  noResponseStatus: 502,
} as const

/** Where a ModelError points for logs, as the real service does. */
export interface ModelErrorScope {
  region: string
  accountId: string
  endpointName: string
}

/**
 * ModelError (424): "Received client error (400) from primary with message "...". See <CloudWatch
 * logs URL> in account <id> for more information." — "server error" for 5xx and for 0 (timeout),
 * with OriginalStatusCode, OriginalMessage and LogStreamArn members. 424 is not retried by the SDKs,
 * so the model runs once.
 */
export function modelError(scope: ModelErrorScope, originalStatusCode: number, originalMessage: string): RuntimeError {
  const { region, accountId, endpointName } = scope
  const kind = originalStatusCode >= 400 && originalStatusCode < 500 ? 'client' : 'server'
  const group = `/aws/sagemaker/Endpoints/${endpointName}`
  const message =
    `Received ${kind} error (${originalStatusCode}) from primary with message "${originalMessage}". ` +
    `See https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logEventViewer:group=${group} in account ${accountId} for more information.`
  return new RuntimeError(424, 'ModelError', message, {
    OriginalStatusCode: originalStatusCode,
    OriginalMessage: originalMessage,
    LogStreamArn: `arn:aws:logs:${region}:${accountId}:log-group:${group}`,
  })
}

/** 429: the SDKs retry it (standard mode), which is what a caller of a loading model should do. */
export const modelNotReady = (targetModel: string): RuntimeError =>
  new RuntimeError(429, 'ModelNotReadyException', messages.modelNotReady(targetModel))

/**
 * The caller closed its connection while we were still working: nobody will read the answer, so this
 * only ends the request quietly (a RuntimeError, hence not logged as a runtime failure).
 */
export const callerGone = (): RuntimeError => internalFailure('The client closed the connection.')

/** 530: not retried by the SDKs; the gateway treats it as unavailability. */
export const internalDependency = (message: string): RuntimeError => new RuntimeError(530, 'InternalDependencyException', message)

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
