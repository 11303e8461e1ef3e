import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import { networkErrorCode, postInvocations } from './container-client.js'
import {
  inputDownloadFailure,
  invocationTimeoutFailure,
  modelInvocationFailure,
  type FailureBody,
} from './failure-bodies.js'
import { parseInputLocation, type AsyncLocations, type S3Object } from './s3-paths.js'
import type { AsyncJobEnd } from '../sns/inference-events.js'

export type AsyncInput = { kind: 's3'; location: string } | { kind: 'inline'; bytes: Buffer }

/** One accepted InvokeEndpointAsync request. */
export interface AsyncJob {
  endpointName: string
  inferenceId: string
  requestId: string
  /** By the runtime's clock (RequestTTLSeconds is measured from here). */
  receivedAtMs: number
  requestTtlSeconds: number
  invocationTimeoutSeconds: number
  input: AsyncInput
  contentType?: string
  accept?: string
  customAttributes?: string
  locations: AsyncLocations
}

export interface JobDeps {
  s3: S3Client
  containerUrl: string
  logger: Logger
  /** Told once a request has reached its end (output written, failure recorded): the SNS notifications. */
  onEnd?: (job: AsyncJob, end: AsyncJobEnd) => void
}

/**
 * How a run ended. `processed` and `failed` are ends (an output or failure object is written, or
 * there is no S3FailurePath to write to); `unrecorded` failed but its failure object could not be
 * written; `aborted` was stopped by close(); `unreachable` and `broken` never got a response status
 * from the container and go back to the queue (see runAsyncJob).
 */
export type JobOutcome = 'processed' | 'failed' | 'unrecorded' | 'aborted' | 'unreachable' | 'broken'

export interface RunOptions {
  /** Aborts the run without a failure object (close()). */
  shutdown: AbortSignal
  /** False once this request's exchanges broke too often: a broken exchange is then a model failure. */
  retryBrokenExchange: boolean
}

const TIMEOUT = Symbol('InvocationTimeoutSeconds')
// A connection reset or closed before the response head ('socket hang up' is ECONNRESET too), or a
// body write to a closed connection.
const BROKEN_EXCHANGE_CODES = new Set(['ECONNRESET', 'EPIPE'])
// Error responses are small; one without a Content-Length is kept up to this much.
const MAX_UNSIZED_ERROR_BYTES = 1024 * 1024

/**
 * Runs one request: input from S3 (or inline) streamed into the container's `/invocations`, the
 * response streamed into `<S3OutputPath>/<id>.out`; anything else becomes a failure object. The whole
 * run is bounded by InvocationTimeoutSeconds (real time); `shutdown` aborts it without a failure object.
 * A container that cannot be reached is not a model failure: a refused connection is `unreachable`,
 * and a connection reset or closed before any response status is `broken` (the model host died or is
 * restarting, or a kept-alive socket went stale); the queue runs both again later.
 */
export async function runAsyncJob(job: AsyncJob, deps: JobDeps, run: RunOptions): Promise<JobOutcome> {
  const { shutdown } = run
  const controller = new AbortController()
  const onShutdown = (): void => controller.abort(shutdown.reason)
  shutdown.addEventListener('abort', onShutdown, { once: true })
  const timer = setTimeout(() => controller.abort(TIMEOUT), job.invocationTimeoutSeconds * 1000)
  const fail = (failure: FailureBody | ContainerFailure): Promise<JobOutcome> => writeFailure(job, deps, failure, shutdown)
  let responded = false
  try {
    const input = await openInput(job, deps.s3, controller.signal)
    if ('errorCode' in input) return await fail(input)
    const res = await postInvocations({
      containerUrl: deps.containerUrl,
      body: input.body,
      contentLengthBytes: input.lengthBytes,
      contentType: job.contentType,
      accept: job.accept,
      customAttributes: job.customAttributes,
      inferenceId: job.inferenceId,
      signal: controller.signal,
    })
    responded = true
    const status = res.statusCode ?? 0
    if (status < 200 || status > 299) {
      // The model answered in time; storing its error body is not part of the invocation.
      clearTimeout(timer)
      return await fail({ response: res, status })
    }
    const length = contentLength(res)
    if (length === undefined) {
      // sagemaker-notes: the container's response must carry Content-Length (chunked fails).
      res.resume()
      return await fail(modelInvocationFailure('the response had no Content-Length (chunked responses are not supported)'))
    }
    await putObject(deps.s3, job.locations.output, res, length, res.headers['content-type'], controller.signal)
    deps.logger.info({ inferenceId: job.inferenceId, endpoint: job.endpointName, output: job.locations.output.uri }, 'async inference completed')
    const outputContentType = res.headers['content-type']
    deps.onEnd?.(job, { status: 'Completed', ...(outputContentType !== undefined ? { outputContentType } : {}) })
    return 'processed'
  } catch (err) {
    if (shutdown.aborted) return 'aborted'
    if (controller.signal.reason === TIMEOUT) return await fail(invocationTimeoutFailure(job.invocationTimeoutSeconds))
    if (!responded) {
      const code = networkErrorCode(err)
      if (code === 'ECONNREFUSED') return 'unreachable'
      if (code !== undefined && BROKEN_EXCHANGE_CODES.has(code) && run.retryBrokenExchange) return 'broken'
    }
    return await fail(modelInvocationFailure(describe(err)))
  } finally {
    clearTimeout(timer)
    shutdown.removeEventListener('abort', onShutdown)
  }
}

interface OpenedInput {
  body: Readable | Buffer
  lengthBytes: number
}

async function openInput(job: AsyncJob, s3: S3Client, signal: AbortSignal): Promise<OpenedInput | FailureBody> {
  if (job.input.kind === 'inline') return { body: job.input.bytes, lengthBytes: job.input.bytes.length }
  const location = job.input.location
  const loc = parseInputLocation(location)
  if (loc === undefined) return inputDownloadFailure(location, 'the location does not name an S3 object')
  try {
    const obj = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal })
    return { body: obj.Body as Readable, lengthBytes: obj.ContentLength ?? 0 }
  } catch (err) {
    if (signal.aborted) throw err
    return inputDownloadFailure(location, describe(err))
  }
}

interface ContainerFailure {
  response: IncomingMessage
  status: number
}

/** Failure objects hold the container's error response as-is, or our JSON reason. */
async function writeFailure(job: AsyncJob, deps: JobDeps, failure: FailureBody | ContainerFailure, shutdown: AbortSignal): Promise<JobOutcome> {
  const target = job.locations.failure
  const reason = 'response' in failure ? `container answered ${failure.status}` : failure.errorMessage
  deps.logger.warn({ inferenceId: job.inferenceId, endpoint: job.endpointName, reason, failure: target?.uri }, 'async inference failed')
  try {
    if ('response' in failure) {
      const res = failure.response
      if (target === undefined) {
        res.resume()
      } else {
        const type = res.headers['content-type']
        const length = contentLength(res)
        if (length !== undefined) await putObject(deps.s3, target, res, length, type, shutdown)
        else await putObject(deps.s3, target, await readBounded(res, MAX_UNSIZED_ERROR_BYTES), undefined, type, shutdown)
      }
    } else if (target !== undefined) {
      await putObject(deps.s3, target, Buffer.from(JSON.stringify(failure)), undefined, 'application/json', shutdown)
    }
  } catch (err) {
    if (shutdown.aborted) return 'aborted'
    deps.logger.error({ err, inferenceId: job.inferenceId, failure: target?.uri }, 'could not write the failure object')
    return 'unrecorded'
  }
  deps.onEnd?.(job, { status: 'Failed', failureReason: reason })
  return 'failed'
}

/**
 * Writes a failure object for a request that never ran (expiry); shared with the queue. True when the
 * request reached its end: the object is written, or there is no S3FailurePath to write it to.
 */
export async function writeFailureBody(job: AsyncJob, deps: JobDeps, body: FailureBody, shutdown: AbortSignal): Promise<boolean> {
  const target = job.locations.failure
  const ended = (): true => {
    deps.onEnd?.(job, { status: 'Failed', failureReason: body.errorMessage })
    return true
  }
  if (target === undefined) return ended()
  try {
    await putObject(deps.s3, target, Buffer.from(JSON.stringify(body)), undefined, 'application/json', shutdown)
    return ended()
  } catch (err) {
    if (!shutdown.aborted) deps.logger.error({ err, inferenceId: job.inferenceId, failure: target.uri }, 'could not write the failure object')
    return false
  }
}

function putObject(
  s3: S3Client,
  target: S3Object,
  body: Readable | Buffer,
  lengthBytes: number | undefined,
  contentType: string | undefined,
  signal: AbortSignal,
): Promise<unknown> {
  return s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      // A stream needs its length up front: S3 PutObject takes no chunked body without it.
      ...(lengthBytes !== undefined ? { ContentLength: lengthBytes } : {}),
      ...(contentType !== undefined ? { ContentType: contentType } : {}),
    }),
    { abortSignal: signal },
  )
}

function contentLength(res: IncomingMessage): number | undefined {
  const raw = res.headers['content-length']
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined
  return Number(raw)
}

async function readBounded(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (size < maxBytes) chunks.push(chunk.subarray(0, maxBytes - size))
    size += chunk.length
  }
  return Buffer.concat(chunks)
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return `${err.name}${typeof code === 'string' ? ` (${code})` : ''}: ${err.message}`
  }
  return String(err)
}
