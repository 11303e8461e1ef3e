import { buildApp, createLogger } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { localModels, localMultiModelEndpoints } from './local/defaults.js'
import { startLocalStack, writeLocalJson, type LocalStack } from './local/stack.js'

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
  const logger = createLogger(config.server.logLevel)

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
      aws: { region: stack.region, s3Endpoint: stack.s3.endpoint, sageMakerRuntimeEndpoint: stack.sagemaker.endpoint, s3ForcePathStyle: true },
      storage: { ...config.storage, bucket: stack.s3.bucket },
      // The local stack's own models, unless the configuration names models of its own.
      ...(Object.keys(config.models).length > 0 || Object.keys(config.multiModelEndpoints).length > 0
        ? {}
        : { models: localModels, multiModelEndpoints: localMultiModelEndpoints }),
    }
  }

  const app = await buildApp(config, { logger, ...(stack ? { credentials: stack.credentials } : {}) })
  const address = await app.listen({ host: config.server.host, port: config.server.port })

  if (stack !== undefined) {
    const localJson = await writeLocalJson(config.local.dataDir, stack)
    logger.info({ s3: stack.s3.endpoint, sagemaker: stack.sagemaker.endpoint, localJson }, 'local stack running')
  }
  logger.info({ gateway: address, models: Object.keys(config.models) }, `sagegate listening on ${address}`)

  let shuttingDown = false
  const shutdown = (signal: string) => {
    if (shuttingDown) return
    shuttingDown = true
    logger.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 15_000)
    force.unref()
    void app
      .close()
      .then(() => stack?.close())
      .then(() => process.exit(0), (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.once('SIGINT', () => shutdown('SIGINT'))
  process.once('SIGTERM', () => shutdown('SIGTERM'))
}

main().catch((err: unknown) => {
  process.stderr.write(`sagegate failed to start: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
