import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import type { FinalizeRequestMiddleware, HandlerExecutionContext, InitializeMiddleware, MiddlewareStack } from '@smithy/types'
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream'

export interface AwsClientOptions {
  region: string
  /** Endpoint override (MinIO, LocalStack, the local stack); default: AWS. */
  endpoint?: string
  /** Fixed credentials; default: the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string }
  forcePathStyle?: boolean
  /**
   * One attempt's time until the response headers arrive, after which the attempt is aborted (and
   * retried by the SDK while attempts remain). 0 or absent: none. A call may override it
   * (`send(command, { requestTimeout })`).
   */
  attemptTimeoutMs?: number
  /**
   * No byte moving on the socket, either way, for this long fails the attempt: a stalled upload part.
   * Buffered bodies are then sent in 64 KiB writes (ChunkedBodyHandler). The SDK registers timeouts of
   * 6 s and more only 3 s into the attempt. 0 or absent: none.
   */
  stallTimeoutMs?: number
  /** Attempts per call, the first included (the SDK's standard retry mode). Default 3. */
  maxAttempts?: number
  maxSockets?: number
  /**
   * `when-required`: no CRC32 computed for request bodies unless the operation requires one (the
   * SDK's default computes one whenever the operation supports it), for clients whose request bodies
   * are small JSON documents (job records, webhook deliveries) or written by the local stack itself;
   * responses are checked as by default. Default: the SDK's.
   */
  requestChecksums?: 'when-required'
  /** Told of every call and attempt (Prometheus, see metrics.ts awsCallsOf). */
  onCall?: AwsCallObserver
}

/** What a client reports of its calls; `service` is the name given by the factory below (s3, sagemaker-runtime). */
export interface AwsCallObserver {
  /**
   * A call ended, after its last attempt: seconds until the response headers (or the error), and the
   * error's name (a network error's code) if it failed.
   */
  called(service: string, operation: string, seconds: number, errorCode?: string): void
  /** An HTTP attempt is about to be sent: the first, and each retry by the SDK. */
  attempted?(service: string, operation: string): void
}

/** What the socket is handed per write when a body is sent in pieces (see ChunkedBodyHandler). */
const BODY_CHUNK_BYTES = 64 * 1024

/** Splits chunks larger than BODY_CHUNK_BYTES (views, no copies). */
class Splitter extends Transform {
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    for (let at = 0; at < chunk.length; at += BODY_CHUNK_BYTES) this.push(chunk.subarray(at, at + BODY_CHUNK_BYTES))
    callback()
  }
}

/**
 * Sends request bodies (an 8 MiB upload part, which the SDK hands over as one buffer or as a stream
 * of one buffer) in 64 KiB writes. A socket's inactivity timer is only reset when a write completes:
 * with one write of a whole part, a link slower than partSize / stallTimeoutMs would look stalled
 * and fail every part. In 64 KiB writes the stall deadline measures what it says: no progress.
 */
class ChunkedBodyHandler extends NodeHttpHandler {
  override handle(request: Parameters<NodeHttpHandler['handle']>[0], options?: Parameters<NodeHttpHandler['handle']>[1]) {
    const body: unknown = request.body
    let pieces: Splitter | undefined
    if (body instanceof Readable && !body.readableObjectMode) {
      pieces = new Splitter()
      pipeline(body, pieces, () => undefined)
    } else if (body instanceof Uint8Array && body.byteLength > BODY_CHUNK_BYTES) {
      pieces = new Splitter()
      pieces.end(body)
    }
    if (pieces === undefined) return super.handle(request, options)
    const chunked = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as typeof request, request, { body: pieces })
    return super.handle(chunked, options)
  }
}

function handler(o: AwsClientOptions): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets: o.maxSockets ?? 64 }
  return new (o.stallTimeoutMs ? ChunkedBodyHandler : NodeHttpHandler)({
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    connectionTimeout: 5000,
    // @smithy/node-http-handler 4.x: without throwOnRequestTimeout, requestTimeout only logs a warning.
    ...(o.attemptTimeoutMs ? { requestTimeout: o.attemptTimeoutMs, throwOnRequestTimeout: true } : {}),
    ...(o.stallTimeoutMs ? { socketTimeout: o.stallTimeoutMs } : {}),
  })
}

const common = (o: AwsClientOptions) => ({
  region: o.region,
  maxAttempts: o.maxAttempts ?? 3,
  ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
  // A copy: the SDK annotates the credentials object it is given (e.g. `$source`).
  ...(o.credentials !== undefined ? { credentials: { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey } } : {}),
})

/** The S3 client configuration createS3Client uses, for libraries that build their own client (@tus/s3-store). */
export const s3ClientConfig = (o: AwsClientOptions): S3ClientConfig => ({
  ...common(o),
  forcePathStyle: o.forcePathStyle ?? false,
  requestHandler: handler(o),
  ...(o.requestChecksums === 'when-required' ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
})

export function createS3Client(o: AwsClientOptions): S3Client {
  const client = new S3Client(s3ClientConfig(o))
  if (o.onCall !== undefined) observeAwsCalls(client, 's3', o.onCall)
  return client
}

export function createSageMakerRuntimeClient(o: AwsClientOptions): SageMakerRuntimeClient {
  const client = new SageMakerRuntimeClient({ ...common(o), requestHandler: handler(o) })
  if (o.onCall !== undefined) observeAwsCalls(client, 'sagemaker-runtime', o.onCall)
  return client
}

/**
 * A network failure's code (ECONNREFUSED, ECONNRESET: @smithy/node-http-handler renames the latter
 * and EPIPE, ETIMEDOUT "TimeoutError", which would hide them), else the error's name (NoSuchKey,
 * ThrottlingException, TimeoutError, AbortError).
 */
function errorCode(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown }
  if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code
  if (typeof e.name === 'string' && e.name !== '' && e.name !== 'Error') return e.name
  return typeof e.code === 'string' ? e.code : 'Error'
}

/** The API operation (PutObject), from the command's class name (PutObjectCommand). */
const operationOf = (context: HandlerExecutionContext): string => (context.commandName ?? 'unknown').replace(/Command$/, '')

/**
 * Two middlewares: one in the initialize step wraps the whole call (every attempt and the SDK's waits
 * between them), one in the finalizeRequest step below the retry middleware (which has priority
 * "high" there) runs once per attempt. A call resolves when the response headers are parsed, so the
 * time of a streamed body (GetObject) is not in it. Exported for clients built elsewhere from
 * s3ClientConfig (direct uploads); @tus/s3-store keeps its client to itself, so tus calls are not seen.
 */
export function observeAwsCalls(client: { middlewareStack: MiddlewareStack<any, any> }, service: string, observer: AwsCallObserver): void {
  const stack = client.middlewareStack
  const call: InitializeMiddleware<any, any> = (next, context) => async (args) => {
    const started = performance.now()
    const operation = operationOf(context)
    try {
      const out = await next(args)
      observer.called(service, operation, (performance.now() - started) / 1000)
      return out
    } catch (err) {
      observer.called(service, operation, (performance.now() - started) / 1000, errorCode(err))
      throw err
    }
  }
  stack.add(call, { step: 'initialize', priority: 'high', name: 'sagegateCallObserver', override: true })
  const { attempted } = observer
  if (attempted === undefined) return
  const attempt: FinalizeRequestMiddleware<any, any> = (next, context) => (args) => {
    attempted(service, operationOf(context))
    return next(args)
  }
  stack.add(attempt, { step: 'finalizeRequest', priority: 'low', name: 'sagegateAttemptObserver', override: true })
}

export const sageMakerRuntimeUrl = (region: string, endpoint?: string): string => endpoint ?? `https://runtime.sagemaker.${region}.amazonaws.com`
