import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { AppError, errors, isAppError, type ProblemCode } from '../errors.js'
import { Problem } from '../api/schemas.js'
import { describeError } from '../lib/describe-error.js'

/**
 * The one error handler: every error becomes an RFC 9457 `application/problem+json` document with a
 * stable `code` and the request id. Messages of 5xx errors are logged, never sent.
 */
export function problemOf(err: unknown): AppError {
  if (isAppError(err)) return err
  const e = err as FastifyError
  // Errors that Fastify and its plugins raise for bad requests carry a 4xx statusCode and a code.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const byCode: Record<string, [ProblemCode, number]> = {
      FST_REQ_FILE_TOO_LARGE: ['payload_too_large', 413],
      FST_FILES_LIMIT: ['too_many_files', 400],
      FST_PARTS_LIMIT: ['too_many_parts', 400],
      FST_FIELDS_LIMIT: ['too_many_fields', 400],
      FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 415],
      FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 413],
      FST_ERR_VALIDATION: ['bad_request', 400],
      FST_INVALID_MULTIPART_CONTENT_TYPE: ['bad_request', 400],
      // Fastify's router: a path parameter over maxParamLength, a path with bad percent-encoding.
      FST_ERR_MAX_PARAM_LENGTH: ['uri_too_long', 414],
      FST_ERR_BAD_URL: ['bad_request', 400],
    }
    const [code, status]: [ProblemCode, number] = byCode[e.code] ?? ['bad_request', e.statusCode]
    return new AppError(code, status, e.message, { cause: err })
  }
  // Node's "the client went away while we read its body".
  if ((e as { code?: string }).code === 'ECONNRESET' && (e as { message?: string }).message === 'aborted') return errors.clientClosed()
  // A body that ends early or a malformed form (busboy's messages) is the client's error.
  const message = (e as { message?: string }).message ?? ''
  if ((e as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE' || /^Unexpected end of (form|multipart data)$|Malformed part header|^Multipart: Boundary not found$|terminated early due to unexpected end of multipart data$/.test(message)) {
    return new AppError('bad_request', 400, 'The body is malformed or incomplete.', { cause: err })
  }
  return new AppError('internal_error', 500, 'Internal error.', { cause: err })
}

export interface ErrorHandlerHooks {
  /** Every problem answered, by code. */
  onProblem?: (code: string) => void
  /** A client that went away before its answer (not a problem: nobody is left to read one). */
  onClientGone?: (route: string) => void
}

/** The client went away: the request says so, or the error is the 499 that the routes raise for it. */
const clientIsGone = (request: FastifyRequest, reply: FastifyReply, problem: AppError) =>
  problem.statusCode === 499 || reply.raw.destroyed || request.raw.socket?.destroyed === true

/** The problem document, with the error's own headers. */
function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: AppError): FastifyReply {
  if (problem.headers !== undefined) void reply.headers(problem.headers)
  // A body we did not read (rejected before or while streaming) is not drained: close the
  // connection after answering instead of reading up to a gigabyte into the void.
  if (!request.raw.complete) void reply.header('connection', 'close')
  const body = {
    // Extension members first: none may replace a member RFC 9457 defines (status is the HTTP status).
    ...(problem.details ?? {}),
    type: `urn:sagegate:problem:${problem.code}`,
    title: STATUS_CODES[problem.statusCode] ?? 'Error',
    status: problem.statusCode,
    code: problem.code,
    detail: problem.message,
    instance: request.url,
    requestId: request.id,
  }
  void reply.code(problem.statusCode).type('application/problem+json')
  // A route's response schemas check its problem documents as they are serialized; a request that
  // matched no route (404 route_not_found, the router's own refusals) is checked here, the same way.
  return reply.send(request.routeOptions.schema?.response === undefined ? JSON.stringify(Problem.encode(body)) : body)
}

/**
 * Fastify's router refuses some requests before any hook runs (a path parameter over
 * maxParamLength, bad percent-encoding in the path): the same problem document, request id included.
 */
export function frameworkErrorHandler(log: FastifyBaseLogger) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const problem = problemOf(err)
    log.info({ reqId: request.id, code: problem.code, status: problem.statusCode, error: err.code }, 'request rejected by the router')
    void sendProblem(request, reply.header('x-request-id', request.id), problem)
  }
}

/**
 * A path parameter that fails its schema cannot name anything: answered as the unknown model or job
 * it is (404), not as a malformed request, so that a client learns the same thing whatever it sent.
 */
function notFoundByPath(err: unknown, request: FastifyRequest): AppError | undefined {
  if ((err as FastifyError).code !== 'FST_ERR_VALIDATION' || (err as FastifyError).validationContext !== 'params') return undefined
  const params = request.params as Record<string, unknown>
  if (typeof params.id === 'string') return errors.jobNotFound()
  if (typeof params.name === 'string') return errors.modelNotFound(params.name)
  return undefined
}

export function registerErrorHandler(app: FastifyInstance, hooks: ErrorHandlerHooks = {}): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = notFoundByPath(err, request) ?? problemOf(err)
    if (clientIsGone(request, reply, problem)) {
      // A normal event of the internet (closed tab, lost network), whatever error it surfaced as.
      const bytesReceived = problem.statusCode === 499 ? problem.details?.bytesReceived : undefined
      request.log.info({ route: request.routeOptions.url, bytesReceived, socketBytesRead: request.raw.socket?.bytesRead }, 'client closed the request')
      hooks.onClientGone?.(request.routeOptions.url ?? 'unknown')
      return reply.hijack()
    }
    hooks.onProblem?.(problem.code)
    const summary = { code: problem.code, status: problem.statusCode, detail: problem.message }
    if (problem.statusCode === 503 || problem.statusCode === 504) {
      // Expected under load or while a dependency is down (the answer says when to retry): a warning
      // with the cause in one line, not an error with a stack for every shed request.
      request.log.warn({ ...summary, ...(problem.cause !== undefined ? { cause: describeError(problem.cause) } : {}) }, 'request failed; retry later')
    } else if (problem.statusCode >= 500) request.log.error({ err, code: problem.code }, 'request failed')
    else request.log.info(summary, 'request rejected')
    return sendProblem(request, reply, problem)
  })
  app.setNotFoundHandler((request, reply) => {
    hooks.onProblem?.('route_not_found')
    void sendProblem(request, reply, new AppError('route_not_found', 404, `No route ${request.method} ${request.url}.`))
  })
}

/**
 * Errors Node raises before there is a request to answer (headers that never finish within
 * headersTimeoutMs, a request that is not HTTP): the same problem document, written to the socket,
 * which is then closed. Fastify's own handler answers plain JSON.
 */
export function clientErrorHandler(log: FastifyBaseLogger) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    // The client is gone (or never was): nobody to answer.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) return void socket.destroy()
    const [status, code, detail]: [number, ProblemCode, string] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request headers did not arrive in time.']
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'bad_request', 'The request headers are too large.']
          : [400, 'bad_request', 'The request is not valid HTTP.']
    const requestId = randomUUID()
    log.info({ requestId, code, error: err.code }, 'connection rejected before a request')
    const title = STATUS_CODES[status] ?? 'Error'
    const body = JSON.stringify(Problem.encode({ type: `urn:sagegate:problem:${code}`, title, status, code, detail, requestId }))
    const head = `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n`
    socket.end(head + body, () => socket.destroy())
  }
}
