import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { randomUUID } from 'node:crypto'
import pino, { type Logger } from 'pino'
import { createS3Client, createSageMakerRuntimeClient, sageMakerRuntimeUrl } from './clients/aws.js'
import type { InferenceRuntime } from './clients/inference-runtime.js'
import type { ObjectStore } from './clients/object-store.js'
import { createS3ObjectStore } from './clients/s3-object-store.js'
import { createSageMakerInferenceRuntime } from './clients/sagemaker-inference-runtime.js'
import type { Config } from './config.js'
import { registerErrorHandler } from './routes/error-handler.js'
import { healthRoutes } from './routes/health.js'
import { jobRoutes } from './routes/jobs.js'
import { modelRoutes } from './routes/models.js'
import { predictRoutes } from './routes/predict.js'
import { createJobService } from './services/job-service.js'
import { createModelRegistry, type ModelRegistry } from './services/model-registry.js'
import { createPredictService } from './services/predict-service.js'

export interface AppOverrides {
  logger?: Logger
  /** Fixed AWS credentials (the local stack's); default: the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string }
  store?: ObjectStore
  runtime?: InferenceRuntime
  models?: ModelRegistry
  clock?: () => number
}

/** Secrets must never reach the logs, whatever a serializer or a future log line includes. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-amz-security-token"]',
  'headers.authorization',
  'credentials',
  '*.credentials',
  '*.secretAccessKey',
  '*.sessionToken',
]

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } })
}

export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<FastifyInstance> {
  const logger = overrides.logger ?? createLogger(config.server.logLevel)
  const closers: Array<() => void> = []

  let store = overrides.store
  if (store === undefined) {
    const s3 = createS3Client({
      region: config.aws.region,
      ...(config.aws.s3Endpoint !== undefined ? { endpoint: config.aws.s3Endpoint } : {}),
      ...(overrides.credentials !== undefined ? { credentials: overrides.credentials } : {}),
      forcePathStyle: config.aws.s3ForcePathStyle,
    })
    closers.push(() => s3.destroy())
    store = createS3ObjectStore({ client: s3, partSizeBytes: config.upload.partSizeBytes, queueSize: config.upload.queueSize })
  }
  let runtime = overrides.runtime
  if (runtime === undefined) {
    const sm = createSageMakerRuntimeClient({
      region: config.aws.region,
      ...(config.aws.sageMakerRuntimeEndpoint !== undefined ? { endpoint: config.aws.sageMakerRuntimeEndpoint } : {}),
      ...(overrides.credentials !== undefined ? { credentials: overrides.credentials } : {}),
    })
    closers.push(() => sm.destroy())
    runtime = createSageMakerInferenceRuntime({ client: sm, endpointUrl: sageMakerRuntimeUrl(config.aws.region, config.aws.sageMakerRuntimeEndpoint) })
  }
  const models = overrides.models ?? createModelRegistry({ models: config.models, multiModelEndpoints: config.multiModelEndpoints, store, logger, ...(overrides.clock ? { clock: overrides.clock } : {}) })
  const jobs = createJobService({
    store,
    runtime,
    models,
    storage: config.storage,
    logger,
    ...(overrides.clock !== undefined ? { clock: overrides.clock } : {}),
  })

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    trustProxy: config.server.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Uploads of up to 1 GB stream for minutes: no whole-request timeout; idle sockets still time out.
    requestTimeout: 0,
    connectionTimeout: 0,
    return503OnClosing: true,
  })
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id)
  })
  app.addHook('onClose', async () => {
    for (const close of closers) close()
  })
  // Node answers `Expect: 100-continue` by itself as soon as the headers arrive; the routes send it
  // only after accepting the request (routes/http.ts), so a refused upload is never sent at all.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res))
  registerErrorHandler(app)
  await app.register(healthRoutes({ store, runtime, bucket: config.storage.bucket }))
  await app.register(modelRoutes(models))
  await app.register(jobRoutes(jobs))
  await app.register(predictRoutes(createPredictService({ runtime, models, ...(overrides.clock !== undefined ? { clock: overrides.clock } : {}) })))
  return app
}
