import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import { registerApiDocs, registerSpecRoutes } from './api/openapi.js'
import { packageVersion } from './lib/app-root.js'
import underPressure from '@fastify/under-pressure'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { createS3Client, createSageMakerRuntimeClient, s3ClientConfig, sageMakerRuntimeUrl } from './clients/aws.js'
import type { InferenceRuntime } from './clients/inference-runtime.js'
import type { ObjectStore } from './clients/object-store.js'
import { createS3ObjectStore } from './clients/s3-object-store.js'
import { createSageMakerInferenceRuntime } from './clients/sagemaker-inference-runtime.js'
import type { Config } from './config.js'
import { CLEANUP_FLUSH_MS } from './drain.js'
import { createCleanupQueue } from './lib/cleanup-queue.js'
import { describeError } from './lib/describe-error.js'
import { REQUEST_ID_HEADER, requestIdFor } from './lib/request-id.js'
import { createStallWatch } from './lib/stall-watch.js'
import { createUploadBudget } from './lib/upload-budget.js'
import { MEMORY_PER_BYTE } from './clients/budget-gate.js'
import { errors } from './errors.js'
import { createLogger } from './lib/logger.js'
import { awsCallsOf, createMetrics, jobEventsOf, webhookEventsOf, type Metrics } from './metrics.js'
import { createClientUploads, createRequestLimit, registerAccess } from './routes/access.js'
import { registerClientWatch } from './routes/client-watch.js'
import { directUploadRoutes } from './routes/direct-uploads.js'
import { uploadRoutes } from './routes/uploads.js'
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandler } from './routes/error-handler.js'
import { healthRoutes } from './routes/health.js'
import { registerHttpMetrics } from './routes/http-metrics.js'
import { jobRoutes } from './routes/jobs.js'
import { modelRoutes } from './routes/models.js'
import { predictRoutes } from './routes/predict.js'
import { webRoutes } from './routes/web.js'
import { notificationRoutes } from './routes/notifications.js'
import { confirmSnsSubscription, createSnsVerifier } from './services/sns-verify.js'
import { createDependencyMonitor } from './services/dependency-monitor.js'
import { createIdempotency } from './services/idempotency.js'
import { anonymousPrincipal, createKeyring, type Keyring } from './services/keyring.js'
import { createJobService } from './services/job-service.js'
import { createJobRemoval } from './services/job-removal.js'
import { createJobWatch } from './services/job-watch.js'
import { createWebhooks } from './services/webhooks.js'
import { jobStatusRoutes } from './routes/job-status.js'
import { createLifecycle, type Lifecycle } from './services/lifecycle.js'
import { createModelRegistry, type ModelRegistry } from './services/model-registry.js'
import { createPredictService } from './services/predict-service.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Uploads in flight and the drain state (see drain.ts). */
    lifecycle: Lifecycle
    /** The API keys; server.ts swaps them on SIGHUP. */
    keyring: Keyring
    /** The Prometheus metrics (server.ts serves them on server.metricsPort when one is set). */
    metrics: Metrics
    /** The routable models (the start banner lists them). */
    modelRegistry: ModelRegistry
    /** Removes the data of canceled jobs the endpoint has given up on (also run every minute). */
    sweepCanceledJobs: () => Promise<void>
    /** Removes the resumable uploads expired as of `now` (default: now; also run every 15 minutes); resolves with how many. */
    removeExpiredUploads: (now?: number) => Promise<number>
  }
}

export { createLogger, redactPaths } from './lib/logger.js'

export interface AppOverrides {
  logger?: Logger
  /** Fixed AWS credentials (the local stack's); default: the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string }
  store?: ObjectStore
  runtime?: InferenceRuntime
  models?: ModelRegistry
  clock?: () => number
  /**
   * SNS signing certificate URLs trusted besides SNS's own hosts: the local stack's SNS only, set in
   * code by server.ts (never from a configuration file, which would let anyone sign notifications).
   */
  snsTrustedCertificateUrls?: string[]
}


/** What a browser page on a configured origin may send, and read back (CORS). */
const CORS_ALLOWED_HEADERS = [
  'authorization',
  'x-api-key',
  'content-type',
  'x-custom-attributes',
  'x-inference-id',
  'idempotency-key',
  'x-request-id',
  'x-webhook-url',
  // waits and event streams
  'prefer',
  'last-event-id',
  // tus (resumable uploads at /uploads)
  'tus-resumable',
  'upload-length',
  'upload-offset',
  'upload-metadata',
  'upload-defer-length',
  'upload-concat',
  'x-http-method-override',
]
const CORS_EXPOSED_HEADERS = [
  'location',
  'retry-after',
  'x-request-id',
  'x-inference-id',
  'x-invoked-variant',
  'x-custom-attributes',
  'idempotent-replayed',
  'content-disposition',
  'content-range',
  'etag',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'www-authenticate',
  'preference-applied',
  // tus
  'tus-resumable',
  'tus-version',
  'tus-extension',
  'tus-max-size',
  'upload-offset',
  'upload-length',
  'upload-metadata',
  'upload-expires',
  'job-location',
]

/** How often S3 and the runtime are checked for /readyz and sagegate_dependency_up. */
const DEPENDENCY_CHECK_INTERVAL_MS = 10_000
const DEPENDENCY_CHECK_TIMEOUT_MS = 2_000

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const logger = overrides.logger ?? createLogger(config.server.logLevel)
  const metrics = createMetrics()
  const stallWatch = createStallWatch()
  const cleanup = createCleanupQueue({
    logger,
    attemptTimeoutMs: config.aws.s3AttemptTimeoutMs,
    onPending: (n) => metrics.cleanupPending.set(n),
  })
  const closers: Array<() => void> = []
  const aws = config.aws
  const sdk = {
    region: aws.region,
    maxAttempts: aws.maxAttempts,
    ...(overrides.credentials !== undefined ? { credentials: overrides.credentials } : {}),
    onCall: awsCallsOf(metrics),
  }

  const s3 = {
    ...sdk,
    ...(aws.s3Endpoint !== undefined ? { endpoint: aws.s3Endpoint } : {}),
    forcePathStyle: aws.s3ForcePathStyle,
  }
  let store = overrides.store
  if (store === undefined) {
    // Its request bodies are small JSON documents and empty markers: no CRC32 computed for them.
    const metadata = createS3Client({ ...s3, attemptTimeoutMs: aws.s3AttemptTimeoutMs, maxSockets: aws.s3MaxSockets, requestChecksums: 'when-required' })
    // Upload parts take as long as their bytes take: no time-to-headers deadline, a stall deadline instead.
    const uploads = createS3Client({ ...s3, stallTimeoutMs: aws.s3StallTimeoutMs, maxSockets: aws.s3UploadMaxSockets })
    closers.push(() => metadata.destroy(), () => uploads.destroy())
    store = createS3ObjectStore({
      budget: createUploadBudget({
        // At least one part's charge (MEMORY_PER_BYTE), or no upload could ever start.
        maxBufferedBytes: Math.max(config.upload.maxBufferedBytes, config.upload.partSizeBytes * MEMORY_PER_BYTE),
        partSizeBytes: config.upload.partSizeBytes,
        onChange: (heldBytes, waiting) => {
          metrics.uploadBufferBytes.set(heldBytes)
          metrics.uploadsWaitingForBuffer.set(waiting)
        },
      }),
      client: metadata,
      uploadClient: uploads,
      partSizeBytes: config.upload.partSizeBytes,
      queueSize: config.upload.queueSize,
      stallTimeoutMs: aws.s3StallTimeoutMs,
      stallWatch,
      cleanup,
    })
  }
  let runtime = overrides.runtime
  if (runtime === undefined) {
    const sageMaker = {
      ...sdk,
      ...(aws.sageMakerRuntimeEndpoint !== undefined ? { endpoint: aws.sageMakerRuntimeEndpoint } : {}),
      maxSockets: aws.sageMakerMaxSockets,
    }
    // Real-time calls pass the model's timeoutMs as their deadline, and the SDK retries them.
    const realtime = createSageMakerRuntimeClient(sageMaker)
    // InvokeEndpointAsync: its own attempt deadline, and only the adapter decides what to retry.
    const async = createSageMakerRuntimeClient({ ...sageMaker, attemptTimeoutMs: aws.sageMakerAttemptTimeoutMs, maxAttempts: 1 })
    closers.push(() => realtime.destroy(), () => async.destroy())
    runtime = createSageMakerInferenceRuntime({
      client: realtime,
      asyncClient: async,
      asyncMaxAttempts: aws.maxAttempts,
      endpointUrl: sageMakerRuntimeUrl(aws.region, aws.sageMakerRuntimeEndpoint),
      onModelNotReady: (endpoint) => metrics.modelNotReady.inc({ endpoint }),
    })
  }
  const clock = overrides.clock !== undefined ? { clock: overrides.clock } : {}
  const models =
    overrides.models ??
    createModelRegistry({ models: config.models, multiModelEndpoints: config.multiModelEndpoints, store, logger, listTimeoutMs: aws.readBudgetMs, ...clock })
  const idempotency = createIdempotency({ store, storage: config.storage, ttlSeconds: config.idempotency.ttlSeconds, readBudgetMs: aws.readBudgetMs, logger, ...clock })
  const keyring = createKeyring(config.auth.keys)
  const jobEvents = jobEventsOf(metrics)
  // With SNS telling of ends at once, polling is only the safety net (config-schema.ts).
  const maxPollIntervalMs = config.waits.maxPollIntervalMs ?? (config.notifications.topicArns.length > 0 ? 30_000 : 5_000)
  // Callbacks (X-Webhook-Url) only to configured hosts; without any, every callback URL is refused.
  const webhooks =
    config.webhooks.allowedHosts.length === 0
      ? undefined
      : createWebhooks({
          store,
          storage: config.storage,
          config: config.webhooks,
          maxPollIntervalMs,
          logger,
          checkJob: (id, signal) => jobs.statusOf(id, signal),
          events: webhookEventsOf(metrics),
          ...clock,
        })
  const jobs = createJobService({
    store,
    runtime,
    models,
    storage: config.storage,
    logger,
    readBudgetMs: aws.readBudgetMs,
    onJobCreated: jobEvents.jobCreated,
    onJobFinished: jobEvents.jobFinished,
    onUploadBytes: (n) => jobEvents.uploadBytes('jobs', n),
    ...(webhooks !== undefined ? { webhooks } : {}),
    ...clock,
  })
  const watch = createJobWatch({
    check: (id, signal) => jobs.statusOf(id, signal),
    minPollIntervalMs: config.waits.minPollIntervalMs,
    maxPollIntervalMs,
    logger,
    onListeners: (n) => metrics.waitsActive.set(n),
    // A job this replica saw end (a waiting client's watcher, an SNS notification): its webhook goes now.
    onEnded: (view) => webhooks?.jobEnded(view),
  })
  const removal = createJobRemoval({
    store,
    jobs,
    storage: config.storage,
    logger,
    readBudgetMs: aws.readBudgetMs,
    onCanceled: (model, seconds) => jobEvents.jobFinished(model, 'canceled', seconds),
    ...(webhooks !== undefined ? { webhooks } : {}),
    ...clock,
  })
  const checkWebhookUrl = (raw: string): string => {
    if (webhooks === undefined) throw errors.webhookNotAllowed('webhooks are not configured (webhooks.allowedHosts)')
    return webhooks.checkUrl(raw)
  }
  const lifecycle = createLifecycle({
    maxConcurrentUploads: config.limits.maxConcurrentUploads,
    onUploads: (n) => metrics.uploadsInFlight.set(n),
    onRefused: (reason) => metrics.uploadsRefused.inc({ reason }),
    onDrain: () => {
      metrics.draining.set(1)
      // Waits and event streams end now with the state they have, so that the drain is not held up.
      watch.close()
    },
  })
  // Settled (the `let`s above) for the closures below.
  const objects = store
  const inference = runtime
  const dependencies = createDependencyMonitor({
    probes: { storage: (signal) => objects.ping(config.storage.bucket, signal), runtime: (signal) => inference.ping(signal) },
    intervalMs: DEPENDENCY_CHECK_INTERVAL_MS,
    timeoutMs: DEPENDENCY_CHECK_TIMEOUT_MS,
    onResult: (name, ok, seconds) => {
      metrics.dependencyUp.set({ dependency: name }, ok ? 1 : 0)
      metrics.dependencyCheckSeconds.set({ dependency: name }, seconds)
    },
    onChange: (name, state, err) => {
      if (state === 'ok') logger.info({ dependency: name }, 'dependency reachable again')
      else logger.warn({ dependency: name, error: describeError(err) }, 'dependency unreachable')
    },
  })

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    trustProxy: config.server.trustProxy,
    // The client's X-Request-Id only when it is a plain token (lib/request-id.ts), else a fresh UUID.
    requestIdHeader: false,
    genReqId: (req) => requestIdFor(req.headers[REQUEST_ID_HEADER]),
    // Uploads of up to 1 GB rightly stream for minutes, and a socket inactivity timeout would also
    // fire while S3 holds the body back: both are off here. A body or response that stalls on the
    // client's side is ended by the client watch (routes/client-watch.ts, upload.idleTimeoutMs);
    // headers must arrive within headersTimeoutMs (checked every second, not Node's 30 s).
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.server.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.server.headersTimeoutMs / 4)),
      // Node's own answer to a request without Host is a bare 400; the first hook below answers a problem.
      requireHostHeader: false,
    },
    // While draining, requests on connections still open get real answers with Connection: close
    // (uploads get 503 shutting_down), not Fastify's plain 503.
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(logger as FastifyBaseLogger),
    frameworkErrors: frameworkErrorHandler(logger as FastifyBaseLogger),
  })
  app.decorate('lifecycle', lifecycle)
  app.decorate('keyring', keyring)
  app.decorate('sweepCanceledJobs', removal.sweepCanceled)
  app.decorate('modelRegistry', models)
  // Hooks that wait on nothing take a callback: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id)
    if (lifecycle.draining) void reply.header('connection', 'close')
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400.
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) return done(errors.badRequest('The request has no Host header.'))
    const expect = request.headers.expect
    if (expect !== undefined && expect.trim().toLowerCase() !== '100-continue') return done(errors.expectationFailed())
    done()
  })
  // RFC 9110 §10.1.1: an expectation other than 100-continue cannot be met. Node would answer a bare
  // 417 by itself; handed on as a request instead, the first hook answers it with a problem.
  app.server.on('checkExpectation', (req, res) => app.server.emit('request', req, res))
  // Request hooks run in this order: CORS (so that even a refusal can be read by the page that
  // asked), load shedding (before any work), then the key check (routes/access.ts).
  if (config.cors.origins.length > 0) {
    await app.register(cors, {
      origin: config.cors.origins,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: [...CORS_ALLOWED_HEADERS],
      exposedHeaders: [...CORS_EXPOSED_HEADERS],
      maxAge: config.cors.maxAgeSeconds,
      strictPreflight: true,
    })
  }
  if (config.limits.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: config.limits.maxEventLoopDelayMs,
      exposeStatusRoute: false,
      // Public routes (health, readiness, metrics unless keyed) still answer: an overloaded replica is alive, and says so.
      pressureHandler: async (request) => {
        if (request.routeOptions.config.public === true) return
        metrics.shed.inc()
        throw errors.overloaded()
      },
    })
  }
  registerAccess(app, {
    keyring,
    anonymous: anonymousPrincipal({ requestsPerMinute: config.auth.anonymousRequestsPerMinute, maxConcurrentUploads: config.auth.anonymousMaxConcurrentUploads }),
    onDenied: (reason) => metrics.authFailures.inc({ reason }),
  })
  // Helmet's defaults on every HTML page the gateway serves. Model results (which may be HTML) keep
  // their own stricter headers (services/job-result.ts: CSP sandbox, attachment), so they are skipped.
  await app.register(helmet, { global: false })
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html') && !reply.hasHeader('content-security-policy')) {
      void Promise.resolve(reply.helmet()).then(() => done(null, payload), done)
      return
    }
    done(null, payload)
  })
  app.addHook('onReady', async () => {
    await dependencies.check()
    dependencies.start()
    webhooks?.start()
    removal.start()
  })
  app.addHook('onClose', async () => {
    dependencies.stop()
    removal.stop()
    watch.close()
    // Attempts in flight may finish (bounded); one cut short is retried by a replica once its lease ends.
    await webhooks?.stop(CLEANUP_FLUSH_MS)
    stallWatch.close()
    // Aborts and deletes that S3 could not take yet get one more chance before the clients go.
    const left = await objects.flushCleanup(CLEANUP_FLUSH_MS)
    if (left > 0) logger.error({ pending: left }, 'cleanups still pending at shutdown; the bucket lifecycle rule must remove them')
    cleanup.close()
    for (const close of closers) close()
  })
  // Node answers `Expect: 100-continue` by itself as soon as the headers arrive; the routes send it
  // only after accepting the request (routes/http.ts), so a refused upload is never sent at all.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res))
  registerErrorHandler(app, {
    onProblem: (code) => metrics.problems.inc({ code }),
    onClientGone: (route) => metrics.clientDisconnects.inc({ route }),
  })
  registerHttpMetrics(app, { observe: (route, method, status_class, seconds) => metrics.httpRequestDuration.observe({ route, method, status_class }, seconds) })
  // Before any route: the description is collected from the routes as they are declared.
  await registerApiDocs(app, packageVersion())
  registerClientWatch(app, { idleTimeoutMs: config.upload.idleTimeoutMs, stallWatch, onTimeout: (phase) => metrics.clientTimeouts.inc({ phase }) })
  await app.register(
    healthRoutes({ lifecycle, dependencies, metrics, metricsRequireKey: config.auth.metricsRequireKey, serveMetrics: config.server.metricsPort === undefined }),
  )
  app.decorate('metrics', metrics)
  await app.register(modelRoutes(models))
  const limitRequests = await createRequestLimit(app, (key) => metrics.rateLimited.inc({ key }))
  const clientUploads = createClientUploads()
  // Resumable uploads (tus): @tus/s3-store builds its own S3 client, configured as the gateway's upload client.
  const uploads = uploadRoutes({
    jobs,
    lifecycle,
    clientUploads,
    storage: config.storage,
    s3: { ...s3ClientConfig({ ...s3, stallTimeoutMs: aws.s3StallTimeoutMs, maxSockets: aws.s3UploadMaxSockets }), bucket: config.storage.bucket },
    partSizeBytes: config.upload.partSizeBytes,
    queueSize: config.upload.queueSize,
    expiryMs: config.upload.resumableExpiryMs,
    corsOrigins: config.cors.origins,
    checkWebhookUrl,
    onUploadBytes: (n) => jobEvents.uploadBytes('tus', n),
  })
  app.decorate('removeExpiredUploads', uploads.removeExpired)
  // Model calls and job routes count against the caller's requests per minute.
  await app.register(async (limited) => {
    limited.addHook('onRequest', limitRequests)
    await limited.register(jobRoutes(jobs, lifecycle, clientUploads, idempotency, checkWebhookUrl))
    await limited.register(jobStatusRoutes({ jobs, watch, removal, heartbeatMs: config.waits.heartbeatMs }))
    await limited.register(predictRoutes(createPredictService({ runtime, models, ...clock })))
    await limited.register(uploads.plugin)
    await limited.register(
      directUploadRoutes({
        jobs,
        storage: config.storage,
        s3: s3ClientConfig({ ...s3, stallTimeoutMs: aws.s3StallTimeoutMs, maxSockets: aws.s3UploadMaxSockets }),
        readBudgetMs: aws.readBudgetMs,
        discard: (loc) => objects.discard(loc),
        onUploadBytes: (n) => jobEvents.uploadBytes('direct', n),
        checkWebhookUrl,
        onS3Call: awsCallsOf(metrics),
      }),
    )
  })
  // SNS signs its own messages: no API key, no per-client limit.
  await app.register(
    notificationRoutes({
      verifier: createSnsVerifier({ logger, trustedCertificateUrls: overrides.snsTrustedCertificateUrls ?? [] }),
      topicArns: config.notifications.topicArns,
      // The job may have ended: its watcher (waits, SSE) checks now, and a webhook goes at once.
      onJobNotification: (id) => void watch.wake(id).catch((err: unknown) => logger.warn({ jobId: id, error: describeError(err) }, 'job check after an SNS notification failed')),
      confirmSubscription: (url) => confirmSnsSubscription(url),
      logger,
      onMessage: (type, outcome) => metrics.snsNotifications.inc({ type, outcome }),
    }),
  )
  await app.register(webRoutes())
  registerSpecRoutes(app)
  return app
}
