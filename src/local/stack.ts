import { GetBucketCorsCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import { createS3Client } from '../clients/aws.js'
import { appRoot } from '../lib/app-root.js'
import { ensureArtifacts } from './artifacts.js'
import { startComponent, type ComponentSpec, type Credentials, type RunningComponent } from './components.js'
import { asyncPaths, LOCAL_ACCOUNT_ID, LOCAL_BUCKET, LOCAL_REGION, localEndpoints, type LocalEndpointDefinition } from './defaults.js'
import { LOCAL_SNS_CERTIFICATE_PATH } from './sns/local-sns.js'
import { superviseComponent, type RestartPolicy, type SupervisedComponent } from './supervisor.js'

export interface LocalStackOptions {
  dataDir: string
  host?: string
  s3Port?: number
  sageMakerPort?: number
  /** `processes`: each part in its own child process (npm start); `in-process`: tests. */
  mode: 'processes' | 'in-process'
  logger: Logger
  logLevel?: string
  endpoints?: LocalEndpointDefinition[]
  /** In-process only: the runtime's clock, so tests can move time. */
  clock?: () => number
  /** Processes only: how a crashed part is restarted (default DEFAULT_RESTART_POLICY). */
  restartPolicy?: RestartPolicy
}

export interface LocalStackInfo {
  region: string
  credentials: Credentials
  s3: { endpoint: string; bucket: string }
  sagemaker: { endpoint: string; endpoints: Array<{ name: string; mode: 'async' | 'realtime'; modelDataUrl?: string }> }
  /**
   * The local SNS (served by the runtime): each async endpoint's `<name>-success` and `<name>-error`
   * topics, and the certificate its messages are signed with (to trust in code, never by configuration).
   */
  sns: { endpoint: string; certificateUrl: string; topicArns: string[] }
}

const modelDataUrl = (prefix: string) => `s3://${LOCAL_BUCKET}/${prefix}`
/** The async endpoints' NotificationConfig: one success and one error topic each. */
const topicArn = (name: string) => `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`
const notificationsOf = (endpoint: string) => ({ successTopicArn: topicArn(`${endpoint}-success`), errorTopicArn: topicArn(`${endpoint}-error`) })

/**
 * The handlers' artifact sources (`handlers/<name>/model/`, data files tsc does not copy) live in
 * the repository's own handlers/ folder, found from this module whether it runs from src/ or dist/.
 */
function sourceHandlersDir(): string {
  return join(appRoot(), 'handlers')
}

/**
 * The local bucket as the stack needs it: CORS that lets a browser PUT presigned upload parts and
 * read their ETag (the gateway's direct-to-S3 uploads; a rule of the user's own is kept), and each
 * multi-model endpoint's default artifacts under its prefix, unless already there.
 */
async function prepareBucket(s3Url: string, credentials: Credentials, endpoints: LocalEndpointDefinition[]): Promise<void> {
  const s3 = createS3Client({ region: LOCAL_REGION, endpoint: s3Url, credentials, forcePathStyle: true })
  try {
    const hasCors = await s3.send(new GetBucketCorsCommand({ Bucket: LOCAL_BUCKET })).then(
      () => true,
      (err: { name?: string }) => (err.name === 'NoSuchCORSConfiguration' ? false : Promise.reject(err)),
    )
    if (!hasCors) {
      await s3.send(
        new PutBucketCorsCommand({
          Bucket: LOCAL_BUCKET,
          CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET', 'PUT', 'HEAD'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 3000 }] },
        }),
      )
    }
    for (const e of endpoints) {
      await ensureArtifacts({ s3, bucket: LOCAL_BUCKET, prefix: e.multiModel!.prefix, handlersDir: sourceHandlersDir(), names: e.multiModel!.artifacts })
    }
  } finally {
    s3.destroy()
  }
}

export interface LocalStack extends LocalStackInfo {
  /** The parts' child processes now running (mode `processes`; empty in-process). */
  processes(): Array<{ role: ComponentSpec['role']; pid: number }>
  close(): Promise<void>
}

/** The credentials both local servers accept: kept in the data dir so tools keep working across restarts. */
async function localCredentials(dataDir: string): Promise<Credentials> {
  try {
    const previous = JSON.parse(await readFile(join(dataDir, 'local.json'), 'utf8')) as Partial<LocalStackInfo>
    if (previous.credentials?.accessKeyId && previous.credentials.secretAccessKey) return previous.credentials
  } catch {
    // first start, or an unreadable file: make new ones
  }
  return { accessKeyId: 'SAGEGATELOCAL', secretAccessKey: randomBytes(24).toString('base64url') }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir)
  const host = options.host ?? '127.0.0.1'
  const endpoints = options.endpoints ?? localEndpoints
  await mkdir(dataDir, { recursive: true })
  const credentials = await localCredentials(dataDir)
  const started: RunningComponent[] = []
  const supervised: SupervisedComponent[] = []
  const close = async () => {
    for (const c of started.reverse()) await c.close().catch((err: unknown) => options.logger.warn({ err }, 'local component did not close cleanly'))
    started.length = 0
  }
  const start = async (spec: ComponentSpec) => {
    let c: RunningComponent
    if (options.mode === 'processes') {
      // A part that dies is restarted on its ports (supervisor.ts) instead of taking the stack down.
      const child = await superviseComponent(spec, {
        logLevel: options.logLevel ?? 'info',
        logger: options.logger,
        ...(options.restartPolicy !== undefined ? { policy: options.restartPolicy } : {}),
      })
      options.logger.debug({ role: spec.role, pid: child.pid() }, 'local component ready')
      supervised.push(child)
      c = child
    } else {
      c = await startComponent(spec, options.logger.child({ component: spec.role }), options.clock)
    }
    started.push(c)
    return c
  }
  try {
    const s3 = await start({
      role: 's3',
      options: { host, port: options.s3Port ?? 0, dataDir: join(dataDir, 's3'), region: LOCAL_REGION, credentials, buckets: [LOCAL_BUCKET] },
    })
    const multiModel = endpoints.filter((e) => e.multiModel !== undefined)
    await prepareBucket(s3.info.url!, credentials, multiModel)
    const hosted = endpoints.filter((e) => e.containerUrl === undefined)
    const modelHost =
      hosted.length === 0
        ? undefined
        : await start({
            role: 'model-host',
            options: {
              host,
              containers: hosted.map((e) => ({
                name: e.name,
                ...(e.handler !== undefined ? { handler: e.handler } : {}),
                ...(e.env !== undefined ? { env: e.env } : {}),
                ...(e.multiModel !== undefined ? { multiModel: true, maxLoadedModels: e.multiModel.maxLoadedModels } : {}),
              })),
              tmpDir: join(dataDir, 'tmp'),
              // One model host per data dir, so what a killed one spooled there can go at the next start.
              ownsTmpDir: true,
            },
          })
    const containerUrl = (e: LocalEndpointDefinition) => e.containerUrl ?? modelHost?.info.containers?.find((c) => c.name === e.name)?.url ?? ''
    const runtime = await start({
      role: 'runtime',
      options: {
        host,
        port: options.sageMakerPort ?? 0,
        region: LOCAL_REGION,
        accountId: LOCAL_ACCOUNT_ID,
        credentials,
        s3Url: s3.info.url!,
        // Accepted async requests survive a crash of the runtime (or of the whole stack).
        stateDir: join(dataDir, 'runtime'),
        endpoints: endpoints.map((e) => ({
          name: e.name,
          mode: e.mode,
          containerUrl: containerUrl(e),
          ...(e.mode === 'async'
            ? {
                async: {
                  ...asyncPaths(LOCAL_BUCKET, e.name),
                  maxConcurrentInvocationsPerInstance: e.maxConcurrentInvocationsPerInstance ?? 1,
                  instanceCount: e.instanceCount ?? 1,
                  notifications: notificationsOf(e.name),
                },
              }
            : {}),
          ...(e.multiModel !== undefined
            ? {
                multiModel: {
                  modelDataUrl: modelDataUrl(e.multiModel.prefix),
                  modelsDir: join(dataDir, 'models', e.name),
                  maxLoadedModels: e.multiModel.maxLoadedModels,
                  ...(e.multiModel.notReadyAfterMs !== undefined ? { notReadyAfterMs: e.multiModel.notReadyAfterMs } : {}),
                },
              }
            : {}),
        })),
      },
    })
    return {
      region: LOCAL_REGION,
      credentials,
      s3: { endpoint: s3.info.url!, bucket: LOCAL_BUCKET },
      sagemaker: {
        endpoint: runtime.info.url!,
        endpoints: endpoints.map((e) => ({
          name: e.name,
          mode: e.mode,
          ...(e.multiModel !== undefined ? { modelDataUrl: modelDataUrl(e.multiModel.prefix) } : {}),
        })),
      },
      sns: {
        endpoint: runtime.info.url!,
        certificateUrl: `${runtime.info.url!}${LOCAL_SNS_CERTIFICATE_PATH}`,
        topicArns: endpoints.filter((e) => e.mode === 'async').flatMap((e) => Object.values(notificationsOf(e.name))),
      },
      processes: () => supervised.flatMap((c) => {
        const pid = c.pid()
        return pid === undefined ? [] : [{ role: c.role, pid }]
      }),
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** `local.json`: how the AWS CLI, boto3 and scripts reach the same stack (shape fixed by issue #2). */
export async function writeLocalJson(dataDir: string, info: LocalStackInfo): Promise<string> {
  const path = join(resolve(dataDir), 'local.json')
  const doc = { region: info.region, credentials: info.credentials, s3: info.s3, sagemaker: info.sagemaker }
  await writeFile(path, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 })
  return path
}
