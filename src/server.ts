import { DOCS_PREFIX } from './api/openapi.js'
import closeWithGrace from 'close-with-grace'
import { buildApp, createLogger } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { drain, SHUTDOWN_OVERHEAD_MS } from './drain.js'
import { localModels, localMultiModelEndpoints } from './local/defaults.js'
import { startLocalStack, writeLocalJson, type LocalStack } from './local/stack.js'
import type { Keyring } from './services/keyring.js'
import type { Logger } from 'pino'
import type { AddressInfo } from 'node:net'
import { subscribeLocalTopics } from './local/sns/subscribe.js'
import { startMetricsServer } from './metrics-server.js'


/** The only file that reads process.env and listens. */
async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  // Readable lines in a terminal, JSON for log collectors.
  const logger = createLogger(config.server.logLevel, process.stdout.isTTY === true)
  // The AWS SDK warns, in every process and at every start, that releases after January 2027 need
  // Node 22: said once here, then silenced (the local stack's processes inherit the setting).
  if (Number(process.versions.node.split('.')[0]) < 22 && process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
    logger.warn({ node: process.versions.node }, 'Node 20 is end-of-life and AWS SDK releases after January 2027 need Node 22: run Node 22 in production (the Docker image does)')
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
  }

  let stack: LocalStack | undefined
  if (config.local.enabled) {
    stack = await startLocalStack({
      dataDir: config.local.dataDir,
      s3Port: config.local.s3Port,
      sageMakerPort: config.local.sageMakerPort,
      mode: 'processes',
      logger,
      logLevel: config.server.logLevel,
    })
    config = {
      ...config,
      aws: { ...config.aws, region: stack.region, s3Endpoint: stack.s3.endpoint, sageMakerRuntimeEndpoint: stack.sagemaker.endpoint, s3ForcePathStyle: true },
      storage: { ...config.storage, bucket: stack.s3.bucket },
      // The local endpoints' success and error topics notify the gateway (POST /notifications/sns).
      notifications: { ...config.notifications, topicArns: [...new Set([...config.notifications.topicArns, ...stack.sns.topicArns])] },
      // The local stack's own models, unless the configuration names models of its own.
      ...(Object.keys(config.models).length > 0 || Object.keys(config.multiModelEndpoints).length > 0
        ? {}
        : { models: localModels, multiModelEndpoints: localMultiModelEndpoints }),
    }
  }

  // GET /metrics on a port of its own, when server.metricsPort is set (scraped until the very end).
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined
  const app = await buildApp(config, { logger, ...(stack ? { credentials: stack.credentials, snsTrustedCertificateUrls: [stack.sns.certificateUrl] } : {}) })
  // SIGTERM/SIGINT (and an uncaught error): drain, stop the local stack, exit 0 (1 after an error).
  // A second signal exits at once.
  closeWithGrace(
    {
      // Past the drain, the upload aborts, the cleanup flush and the local stack's stop: exit 1.
      delay: config.server.drainTimeoutMs + SHUTDOWN_OVERHEAD_MS,
      // SIGHUP reloads the API keys (below), it does not stop the gateway.
      skip: ['SIGHUP'],
      logger: { error: (message: unknown) => logger.error({ detail: message }, 'shutdown') },
    },
    async ({ signal, err }) => {
      if (err !== undefined) logger.fatal({ err }, 'unexpected error: draining, then exiting')
      else logger.info({ signal }, 'shutting down')
      await drain(app, config.server.drainTimeoutMs, config.server.drainDelayMs)
      await metricsServer?.close()
      await stack?.close()
    },
  )
  // Key rotation without a restart: SIGHUP reads the configuration file again and swaps the keys.
  process.on('SIGHUP', () => reloadKeys(app.keyring, logger))
  const address = await app.listen({ host: config.server.host, port: config.server.port })
  if (config.server.metricsPort !== undefined) metricsServer = await startMetricsServer(app.metrics, config.server.host, config.server.metricsPort)

  let localJson: string | undefined
  if (stack !== undefined) {
    // As an operator subscribes the gateway to an endpoint's topics on AWS: the local SNS then sends
    // a SubscriptionConfirmation, which the gateway confirms, and signed notifications from then on.
    const port = (app.server.address() as AddressInfo).port
    await subscribeLocalTopics({
      url: stack.sns.endpoint,
      region: stack.region,
      credentials: stack.credentials,
      topicArns: stack.sns.topicArns,
      endpoint: `http://127.0.0.1:${port}/notifications/sns`,
      exclusive: true,
    }).catch((err: unknown) => logger.warn({ err }, 'could not subscribe the gateway to the local SNS topics: job ends are found by polling only'))
    localJson = await writeLocalJson(config.local.dataDir, stack)
    logger.info({ s3: stack.s3.endpoint, sagemaker: stack.sagemaker.endpoint, localJson }, 'local stack running')
  }
  // Every routable model, multi-model artifacts included (their first listing is bounded by aws.readBudgetMs).
  const models = await app.modelRegistry.list().then(
    (views) => views.map((m) => `${m.name} (${m.mode})`),
    () => Object.keys(config.models),
  )
  logger.info({ gateway: address, docs: `${address}${DOCS_PREFIX}`, ...(metricsServer !== undefined ? { metrics: metricsServer.url } : {}), models, ...(localJson !== undefined ? { localJson } : {}) }, `sagegate listening on ${address}`)
  if (!app.keyring.closed) logger.warn('no API keys configured (auth.keys): the gateway is open to anyone who can reach it')
  else logger.info({ keys: app.keyring.size }, 'API keys required')
}

/**
 * Swaps the API keys for those of the configuration as it is now. Only the keys change (other
 * settings need a restart). A file that no longer loads, or that would leave a closed gateway with
 * no keys at all (open to everyone), is refused and the current keys stay.
 */
function reloadKeys(keyring: Keyring, logger: Logger): void {
  try {
    const next = loadConfig(process.env).auth.keys
    if (keyring.closed && next.length === 0) {
      logger.error('SIGHUP: the configuration has no API keys any more; keeping the current keys (restart to run open)')
      return
    }
    keyring.replace(next)
    logger.info({ keys: next.map((k) => k.id) }, 'SIGHUP: API keys reloaded')
  } catch (err) {
    logger.error({ problems: err instanceof ConfigError ? err.problems : String(err) }, 'SIGHUP: the configuration is invalid; keeping the current keys')
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`sagegate failed to start: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
