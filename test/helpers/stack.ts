import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import type { Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { createS3Client } from '../../src/clients/aws.js'
import { loadConfig, parseModels, parseMultiModelEndpoints, type Config } from '../../src/config.js'
import { localModels, localMultiModelEndpoints, type LocalEndpointDefinition } from '../../src/local/defaults.js'
import { startLocalStack, type LocalStack } from '../../src/local/stack.js'
import { subscribeLocalTopics } from '../../src/local/sns/subscribe.js'

export interface TestStack {
  stack: LocalStack
  app: FastifyInstance
  /** The gateway's base URL, listening on a free port. */
  baseUrl: string
  config: Config
  s3: S3Client
  bucket: string
  dataDir: string
  /** Every object key in the bucket. */
  keys(prefix?: string): Promise<string[]>
  /** Multipart uploads still open in the bucket. */
  openUploads(): Promise<number>
}

/**
 * The real local stack (S3, SageMaker runtime, model host) in this process on free ports, and the
 * gateway listening in front of it, reaching it only through the AWS SDK clients.
 */
export async function startTestStack(
  t: Test,
  options: {
    endpoints?: LocalEndpointDefinition[]
    models?: Record<string, unknown>
    multiModelEndpoints?: Record<string, unknown>
    clock?: () => number
    partSizeBytes?: number
    /**
     * The local SNS notifies the gateway as `npm start` wires it: the endpoints' topics are the
     * gateway's `notifications.topicArns`, and the gateway is subscribed to them once it listens.
     */
    sns?: boolean
    /** Last word on the gateway's configuration (small timeouts, a fault proxy in front of S3...). */
    configure?: (config: Config, stack: LocalStack) => Config | Promise<Config>
  } = {},
): Promise<TestStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-it-'))
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const stack = await startLocalStack({
    dataDir,
    mode: 'in-process',
    logger,
    ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  })
  const base = loadConfig({ SAGEGATE_BUCKET: stack.s3.bucket, SAGEGATE_ANONYMOUS: 'true' })
  let config: Config = {
    ...base,
    aws: { ...base.aws, region: stack.region, s3Endpoint: stack.s3.endpoint, sageMakerRuntimeEndpoint: stack.sagemaker.endpoint, s3ForcePathStyle: true },
    upload: { ...base.upload, partSizeBytes: options.partSizeBytes ?? 5 * 1024 * 1024, queueSize: 2 },
    // No load shedding: the stack, the gateway and the test share this process's event loop, so a
    // test building an 8 MiB text would look like an overloaded gateway (shedding has its own tests).
    limits: { ...base.limits, maxEventLoopDelayMs: 0 },
    models: options.models ? parseModels(options.models) : localModels,
    multiModelEndpoints: options.multiModelEndpoints
      ? parseMultiModelEndpoints(options.multiModelEndpoints)
      : options.models
        ? {}
        : localMultiModelEndpoints,
  }
  if (options.sns === true) config = { ...config, notifications: { topicArns: stack.sns.topicArns } }
  if (options.configure) config = await options.configure(config, stack)
  const app = await buildApp(config, {
    logger,
    credentials: stack.credentials,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.sns === true ? { snsTrustedCertificateUrls: [stack.sns.certificateUrl] } : {}),
  })
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  if (options.sns === true) {
    const subscribe = () => subscribeLocalTopics({ url: stack.sns.endpoint, region: stack.region, credentials: stack.credentials, topicArns: stack.sns.topicArns, endpoint: `${baseUrl}/notifications/sns` })
    // Confirmed once the gateway has answered the SubscriptionConfirmation (asking again returns the ARN).
    for (let i = 0; (await subscribe()).some((arn) => arn === 'pending confirmation'); i++) {
      if (i > 100) throw new Error('the gateway did not confirm its SNS subscriptions')
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const s3 = createS3Client({ region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true })
  const bucket = stack.s3.bucket
  t.teardown(async () => {
    await app.close()
    s3.destroy()
    await stack.close()
    await rm(dataDir, { recursive: true, force: true })
  })
  return {
    stack,
    app,
    baseUrl,
    config,
    s3,
    bucket,
    dataDir,
    async keys(prefix = '') {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
      return (out.Contents ?? []).map((o) => o.Key!).sort()
    },
    async openUploads() {
      const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
      return out.Uploads?.length ?? 0
    },
  }
}

/** Polls `GET /jobs/{id}` until the job leaves `in_progress` (bounded; fails the test on timeout). */
export async function waitForJob(baseUrl: string, id: string, timeoutMs = 60_000, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = (await (await fetch(`${baseUrl}/jobs/${id}`, { headers })).json()) as Record<string, any>
    if (job.status !== 'in_progress') return job
    if (Date.now() > deadline) throw new Error(`job ${id} still in progress after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
