import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import pino, { type Logger } from 'pino'
import { ASYNC_INLINE_BODY_MAX_BYTES, createInvokeEndpointAsync } from './async-invoke-route.js'
import { openAsyncJournal } from './async-journal.js'
import type { AsyncJob } from './async-job.js'
import { createEndpointQueue, type EndpointQueue } from './async-queue.js'
import { createAuthenticator } from './auth.js'
import { awsOperation } from './aws-operation.js'
import { internalFailure, RuntimeError, sendError, unknownOperation } from './errors.js'
import { createInvokeEndpoint, INVOKE_BODY_MAX_BYTES } from './invoke-route.js'
import { registerLocalRoutes } from './local-routes.js'
import { createRealtimeEndpoints } from './realtime-endpoints.js'
import { createEndpointRegistry } from './registry.js'
import { createRouter } from './router.js'
import type { LocalRuntime, LocalRuntimeOptions } from './types.js'
import { notifyTopics, topicArnsOf } from '../sns/inference-events.js'
import { createLocalSns } from '../sns/local-sns.js'

export type {
  AsyncEndpointConfig,
  EndpointStats,
  LocalRuntime,
  LocalRuntimeOptions,
  MultiModelConfig,
  MultiModelStats,
  RealtimeEndpointStats,
  RuntimeEndpoint,
} from './types.js'
export { modelIdOf } from './model-manager.js'
export {
  REQUEST_EXPIRED_ERROR_CODE,
  INVOCATION_TIMEOUT_ERROR_CODE,
  INPUT_DOWNLOAD_ERROR_CODE,
  MODEL_INVOCATION_ERROR_CODE,
  requestExpiredFailure,
  type FailureBody,
} from './failure-bodies.js'

// Queued requests must expire even when nothing is dequeued (a stuck endpoint).
const EXPIRY_SWEEP_INTERVAL_MS = 1000

/**
 * A local SageMaker runtime: the sagemaker-runtime wire protocol (rest-json, SigV4 `sagemaker`) in
 * front of plain HTTP model containers: async endpoints queued and run against S3, real-time endpoints
 * (single-model, multi-model with artifacts from S3, and response streaming) called directly.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const logger = options.logger ?? pino({ level: 'silent' })
  const clock = options.clock ?? Date.now
  const registry = createEndpointRegistry(options.endpoints, options.accountId)
  const journal = options.stateDir === undefined ? undefined : await openAsyncJournal(options.stateDir, logger)
  // Read before listening, so no new request's file can be mistaken for an old one.
  const persisted = journal === undefined ? [] : await journal.load()
  // The async endpoints' NotificationConfig topics, served by this same server (sns/local-sns.ts).
  const sns = await createLocalSns({
    region: options.region,
    topicArns: topicArnsOf(registry.all().map((e) => e.async)),
    credentials: options.credentials,
    logger,
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
  })
  const queues = new Map<string, EndpointQueue>()
  for (const e of registry.all()) {
    if (e.mode !== 'async' || e.async === undefined) continue
    queues.set(
      e.name,
      createEndpointQueue({
        endpointName: e.name,
        containerUrl: e.containerUrl,
        config: e.async,
        s3: options.s3,
        clock,
        logger,
        ...(journal !== undefined ? { journal } : {}),
        ...(options.asyncRetry !== undefined ? { retry: options.asyncRetry } : {}),
        onEnd: notifyTopics(sns.publish, e.async.notifications, options.region),
      }),
    )
  }

  const realtime = createRealtimeEndpoints({ registry, s3: options.s3, region: options.region, accountId: options.accountId, logger })

  const authenticate = createAuthenticator(options.credentials, options.region)
  const router = createRouter()
  router.add(
    'POST',
    '/endpoints/{EndpointName}/async-invocations',
    awsOperation(authenticate, ASYNC_INLINE_BODY_MAX_BYTES, createInvokeEndpointAsync({ registry, queues, accountId: options.accountId, clock })),
  )
  for (const [path, operation] of [
    ['invocations', 'InvokeEndpoint'],
    ['invocations-response-stream', 'InvokeEndpointWithResponseStream'],
  ] as const) {
    router.add(
      'POST',
      `/endpoints/{EndpointName}/${path}`,
      awsOperation(authenticate, INVOKE_BODY_MAX_BYTES, createInvokeEndpoint({ registry, realtime, accountId: options.accountId }, operation)),
    )
  }
  registerLocalRoutes(router, { registry, queues, realtime })
  sns.register(router)

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID()
    res.setHeader('x-amzn-RequestId', requestId)
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    try {
      const match = router.match(req.method ?? 'GET', q < 0 ? raw : raw.slice(0, q))
      if (match === undefined) throw unknownOperation()
      await match.handler({ req, res, requestId, params: match.params })
    } catch (err) {
      const known = err instanceof RuntimeError
      if (!known) logger.error({ err, requestId, url: raw }, 'local runtime request failed')
      if (!req.complete) {
        // Answered before the body was read: do not leave a half-read request on a kept-alive socket.
        res.setHeader('Connection', 'close')
        req.resume()
      }
      sendError(res, known ? err : internalFailure())
    }
  }

  const server = createServer(
    {
      // Node's default closes a keep-alive connection after 5 s idle: a client reusing it just then
      // gets ECONNRESET ("socket hang up"), which the gateway must not retry for InvokeEndpointAsync
      // (the job may have been queued) and answers 503. AWS endpoints keep idle connections far
      // longer; as the local S3 does, keep them longer than a client's idle reuse window.
      keepAliveTimeout: 65_000,
    },
    (req, res) => void handle(req, res),
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  // Only once listening (a runtime that cannot start runs nothing; the files wait for the next one),
  // and before any request is read, so old requests stay ahead of new ones.
  resumeQueues(persisted, queues, logger)
  const sweep = setInterval(() => {
    for (const queue of queues.values()) queue.sweepExpired()
  }, EXPIRY_SWEEP_INTERVAL_MS)
  sweep.unref()

  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  sns.setBaseUrl(url)
  logger.info({ url, endpoints: registry.all().map((e) => `${e.name} (${e.mode})`) }, 'local SageMaker runtime listening')

  let closing: Promise<void> | undefined
  return {
    url,
    port: address.port,
    stats: () => [...queues.values()].map((q) => q.stats()),
    realtimeStats: () => [...realtime.values()].map((r) => r.stats()),
    close() {
      closing ??= (async () => {
        clearInterval(sweep)
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await Promise.all([
          ...[...queues.values()].map((q) => q.close()),
          ...[...realtime.values()].map((r) => r.models?.close()),
          sns.close(),
        ])
        await closed
      })()
      return closing
    },
  }
}

/**
 * Requests persisted by an earlier run go back to their endpoints' queues in arrival order, those
 * that were in flight included (they run again from the start: at-least-once, as with AWS).
 */
function resumeQueues(persisted: AsyncJob[], queues: ReadonlyMap<string, EndpointQueue>, logger: Logger): void {
  const byEndpoint = new Map<string, AsyncJob[]>()
  for (const job of persisted) {
    if (!queues.has(job.endpointName)) {
      const where = { inferenceId: job.inferenceId, endpoint: job.endpointName }
      logger.warn(where, 'persisted async request for an endpoint that is not configured; kept for later')
      continue
    }
    byEndpoint.set(job.endpointName, [...(byEndpoint.get(job.endpointName) ?? []), job])
  }
  for (const [name, jobs] of byEndpoint) {
    logger.info({ endpoint: name, requests: jobs.length }, 'resuming persisted async requests')
    queues.get(name)!.restore(jobs)
  }
}
