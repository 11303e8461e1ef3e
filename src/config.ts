import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'

/**
 * The whole configuration: one zod schema, environment variables over an optional file named by
 * SAGEGATE_CONFIG (JSON or YAML). Every problem is collected before failing, so an operator fixes a
 * bad configuration in one go.
 */

const MiB = 1024 * 1024
const GiB = 1024 * MiB

// SageMaker's EndpointName constraint (sagemaker-runtime service model, API 2017-05-13).
const endpointNamePattern = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/
// Routable names appear in URLs: keep them to a safe, unambiguous alphabet.
const modelNamePattern = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/
const mediaTypePattern = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+*-]+$/

const mediaType = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(mediaTypePattern, 'must be a media type such as video/mp4'))

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
const bucketName = z.string().min(3).max(63).regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, 'must be a valid S3 bucket name')
const keyPrefix = z.string().max(256).regex(/^(?:[A-Za-z0-9!_.*'()-]+\/)*$/, 'must be empty or end with "/"')
// S3 multipart: parts of at least 5 MiB (all but the last); memory per upload ≈ queueSize × partSize.
const partSizeBytes = z.number().int().min(5 * MiB).max(512 * MiB)
const queueSize = z.number().int().min(1).max(32)
const portNumber = z.number().int().min(0).max(65535)
/** A duration in milliseconds, from `min` up to an hour. */
const ms = (min: number) => z.number().int().min(min).max(3_600_000)
const maxSockets = z.number().int().min(1).max(10_000)

const asyncModelSchema = z.strictObject({
  mode: z.literal('async'),
  endpointName: z.string().min(1).max(63).regex(endpointNamePattern, 'must match the SageMaker EndpointName pattern'),
  contentTypes: z.array(mediaType).min(1),
  // InvokeEndpointAsync takes payloads up to 1 GB through S3.
  maxBytes: z.number().int().positive().max(GiB),
  accept: z.string().min(1).max(1024).optional(),
  // InvokeEndpointAsync limits: RequestTTLSeconds 60-21600, InvocationTimeoutSeconds 1-3600.
  ttlSeconds: z.number().int().min(60).max(21600).default(21600),
  invocationTimeoutSeconds: z.number().int().min(1).max(3600).default(900),
  description: z.string().max(500).optional(),
})

// InvokeEndpoint: request and response bodies up to 6 MiB.
const REALTIME_MAX_BYTES = 6 * MiB
// TargetModel: 1–1024 printable characters, the first not blank.
const targetModel = z.string().min(1).max(1024).regex(/^[\x21-\x7e][\x20-\x7e]*$/, 'must be printable ASCII, not starting with a blank')

const realtimeModelSchema = z.strictObject({
  mode: z.literal('realtime'),
  endpointName: z.string().min(1).max(63).regex(endpointNamePattern, 'must match the SageMaker EndpointName pattern'),
  targetModel: targetModel.optional(),
  /** Accepted request types; absent means any (the body is passed through byte for byte). */
  contentTypes: z.array(mediaType).min(1).optional(),
  maxBytes: z.number().int().positive().max(REALTIME_MAX_BYTES).default(REALTIME_MAX_BYTES),
  // sagemaker-notes: the container must answer within 60 s; the client socket gets about 70 s.
  timeoutMs: z.number().int().min(1000).max(600_000).default(70_000),
  /** How long a call keeps retrying ModelNotReadyException (a cold multi-model load) before a 503. */
  coldStartWaitMs: z.number().int().min(0).max(600_000).default(30_000),
  streaming: z.boolean().default(false),
  description: z.string().max(500).optional(),
})

export const modelSchema = z.discriminatedUnion('mode', [asyncModelSchema, realtimeModelSchema])

const s3Prefix = z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(?:.*\/)?$/, 'must be an S3 prefix such as s3://bucket/models/')

/** A multi-model endpoint whose artifacts (`*.tar.gz` under `modelDataUrl`) become routable models. */
const multiModelEndpointSchema = z.strictObject({
  modelDataUrl: s3Prefix,
  discover: z.boolean().default(true),
  /** How long a listing of the prefix is reused; a new artifact is routable within this time. */
  discoveryTtlMs: z.number().int().min(1000).max(3_600_000).default(30_000),
  contentTypes: z.array(mediaType).min(1).optional(),
  maxBytes: z.number().int().positive().max(REALTIME_MAX_BYTES).default(REALTIME_MAX_BYTES),
  timeoutMs: z.number().int().min(1000).max(600_000).default(70_000),
  coldStartWaitMs: z.number().int().min(0).max(600_000).default(30_000),
})

const fileSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: portNumber.optional(),
      logLevel: logLevel.optional(),
      trustProxy: z.boolean().optional(),
      headersTimeoutMs: ms(1000).optional(),
      keepAliveTimeoutMs: ms(1000).optional(),
      drainTimeoutMs: ms(0).optional(),
    })
    .optional(),
  aws: z
    .strictObject({
      region: z.string().min(1).optional(),
      s3Endpoint: z.url().optional(),
      sageMakerRuntimeEndpoint: z.url().optional(),
      s3ForcePathStyle: z.boolean().optional(),
      maxAttempts: z.number().int().min(1).max(10).optional(),
      s3AttemptTimeoutMs: ms(100).optional(),
      s3StallTimeoutMs: ms(100).optional(),
      readBudgetMs: ms(100).optional(),
      sageMakerAttemptTimeoutMs: ms(100).optional(),
      s3MaxSockets: maxSockets.optional(),
      s3UploadMaxSockets: maxSockets.optional(),
      sageMakerMaxSockets: maxSockets.optional(),
    })
    .optional(),
  storage: z
    .strictObject({
      bucket: bucketName.optional(),
      prefix: keyPrefix.optional(),
    })
    .optional(),
  upload: z
    .strictObject({
      partSizeBytes: partSizeBytes.optional(),
      queueSize: queueSize.optional(),
      idleTimeoutMs: ms(100).optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      maxConcurrentUploads: z.number().int().min(1).max(100_000).optional(),
    })
    .optional(),
  local: z
    .strictObject({
      enabled: z.boolean().optional(),
      dataDir: z.string().min(1).optional(),
      s3Port: portNumber.optional(),
      sageMakerPort: portNumber.optional(),
    })
    .optional(),
  models: z.record(z.string().regex(modelNamePattern, 'model names are lowercase letters, digits, ".", "_" and "-"'), modelSchema).optional(),
  multiModelEndpoints: z.record(z.string().regex(endpointNamePattern, 'must be a SageMaker endpoint name'), multiModelEndpointSchema).optional(),
})

export type FileConfig = z.infer<typeof fileSchema>
export type ModelConfig = z.infer<typeof modelSchema>
export type AsyncModelConfig = z.infer<typeof asyncModelSchema>
export type RealtimeModelConfig = z.infer<typeof realtimeModelSchema>
export type MultiModelEndpointConfig = z.infer<typeof multiModelEndpointSchema>
export const MODEL_NAME_PATTERN = modelNamePattern

const num = <T extends z.ZodNumber>(schema: T) => z.coerce.number().pipe(schema)
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')

/** Environment variables and the configuration keys they set. */
const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  SAGEGATE_CONFIG: z.string().min(1).optional(),
  HOST: z.string().min(1).optional(),
  PORT: num(portNumber).optional(),
  LOG_LEVEL: logLevel.optional(),
  SAGEGATE_TRUST_PROXY: bool.optional(),
  SAGEGATE_HEADERS_TIMEOUT_MS: num(ms(1000)).optional(),
  SAGEGATE_KEEP_ALIVE_TIMEOUT_MS: num(ms(1000)).optional(),
  SAGEGATE_DRAIN_TIMEOUT_MS: num(ms(0)).optional(),
  AWS_REGION: z.string().min(1).optional(),
  SAGEGATE_S3_ENDPOINT: z.url().optional(),
  SAGEGATE_SAGEMAKER_ENDPOINT: z.url().optional(),
  SAGEGATE_S3_FORCE_PATH_STYLE: bool.optional(),
  SAGEGATE_AWS_MAX_ATTEMPTS: num(z.number().int().min(1).max(10)).optional(),
  SAGEGATE_S3_ATTEMPT_TIMEOUT_MS: num(ms(100)).optional(),
  SAGEGATE_S3_STALL_TIMEOUT_MS: num(ms(100)).optional(),
  SAGEGATE_READ_BUDGET_MS: num(ms(100)).optional(),
  SAGEGATE_SAGEMAKER_ATTEMPT_TIMEOUT_MS: num(ms(100)).optional(),
  SAGEGATE_S3_MAX_SOCKETS: num(maxSockets).optional(),
  SAGEGATE_S3_UPLOAD_MAX_SOCKETS: num(maxSockets).optional(),
  SAGEGATE_SAGEMAKER_MAX_SOCKETS: num(maxSockets).optional(),
  SAGEGATE_BUCKET: bucketName.optional(),
  SAGEGATE_PREFIX: keyPrefix.optional(),
  SAGEGATE_UPLOAD_PART_SIZE_BYTES: num(partSizeBytes).optional(),
  SAGEGATE_UPLOAD_QUEUE_SIZE: num(queueSize).optional(),
  SAGEGATE_UPLOAD_IDLE_TIMEOUT_MS: num(ms(100)).optional(),
  SAGEGATE_MAX_CONCURRENT_UPLOADS: num(z.number().int().min(1).max(100_000)).optional(),
  SAGEGATE_LOCAL: bool.optional(),
  SAGEGATE_DATA_DIR: z.string().min(1).optional(),
  LOCAL_S3_PORT: num(portNumber).optional(),
  LOCAL_SAGEMAKER_PORT: num(portNumber).optional(),
})

export interface Config {
  server: {
    host: string
    port: number
    logLevel: string
    trustProxy: boolean
    /** A client must send its request headers within this (Node's headersTimeout). */
    headersTimeoutMs: number
    /** An idle kept-alive connection is closed after this (above a load balancer's 60 s idle timeout). */
    keepAliveTimeoutMs: number
    /** SIGTERM/SIGINT: how long in-flight uploads and calls may take to finish before they are aborted. */
    drainTimeoutMs: number
  }
  aws: {
    region: string
    s3Endpoint?: string
    sageMakerRuntimeEndpoint?: string
    s3ForcePathStyle: boolean
    /** Attempts per AWS call (the SDK's standard retry mode), the first included. */
    maxAttempts: number
    /** One attempt of an S3 metadata call (head, small get/put, list, delete): time to the response headers. */
    s3AttemptTimeoutMs: number
    /** An upload part, or a result being read, that makes no progress for this long fails. */
    s3StallTimeoutMs: number
    /** Every S3 call of one status poll or result read together, retries included. */
    readBudgetMs: number
    /** One attempt of InvokeEndpointAsync: time to the response headers. */
    sageMakerAttemptTimeoutMs: number
    s3MaxSockets: number
    /** A pool of its own, so that uploads never starve status polls and result reads of sockets. */
    s3UploadMaxSockets: number
    sageMakerMaxSockets: number
  }
  storage: { bucket: string; prefix: string }
  upload: {
    partSizeBytes: number
    queueSize: number
    /** A request body with no byte from the client for this long is ended (408). */
    idleTimeoutMs: number
  }
  limits: { maxConcurrentUploads: number }
  local: { enabled: boolean; dataDir: string; s3Port: number; sageMakerPort: number }
  models: Record<string, ModelConfig>
  multiModelEndpoints: Record<string, MultiModelEndpointConfig>
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

function issuesOf(error: z.ZodError, where: (path: PropertyKey[]) => string): string[] {
  return error.issues.map((issue) => `${where(issue.path)}: ${issue.message}`)
}

function readConfigFile(path: string): unknown {
  const text = readFileSync(path, 'utf8')
  const ext = extname(path).toLowerCase()
  return ext === '.json' ? JSON.parse(text) : parseYaml(text)
}

/** Drop undefined members so that `{...file, ...env}` merges keep file values. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/**
 * Reads the configuration from `env` (and the file it names). Throws a ConfigError naming every bad
 * key — environment variables by their name, file keys by their path — at once.
 */
export function loadConfig(env: Record<string, string | undefined>, readFile: (path: string) => unknown = readConfigFile): Config {
  const problems: string[] = []
  const envResult = envSchema.safeParse(env)
  if (!envResult.success) problems.push(...issuesOf(envResult.error, (p) => String(p[0])))
  const e = envResult.success ? envResult.data : ({} as z.infer<typeof envSchema>)

  let file: FileConfig = {}
  const filePath = env.SAGEGATE_CONFIG
  if (filePath !== undefined && filePath !== '') {
    let raw: unknown
    try {
      raw = readFile(filePath) ?? {}
    } catch (err) {
      problems.push(`SAGEGATE_CONFIG: cannot read ${filePath}: ${(err as Error).message}`)
    }
    if (raw !== undefined) {
      const fileResult = fileSchema.safeParse(raw)
      if (fileResult.success) file = fileResult.data
      else problems.push(...issuesOf(fileResult.error, (p) => `${filePath}: ${p.map(String).join('.') || '(root)'}`))
    }
  }

  const merged = {
    server: {
      ...file.server,
      ...defined({
        host: e.HOST,
        port: e.PORT,
        logLevel: e.LOG_LEVEL,
        trustProxy: e.SAGEGATE_TRUST_PROXY,
        headersTimeoutMs: e.SAGEGATE_HEADERS_TIMEOUT_MS,
        keepAliveTimeoutMs: e.SAGEGATE_KEEP_ALIVE_TIMEOUT_MS,
        drainTimeoutMs: e.SAGEGATE_DRAIN_TIMEOUT_MS,
      }),
    },
    aws: {
      ...file.aws,
      ...defined({
        region: e.AWS_REGION,
        s3Endpoint: e.SAGEGATE_S3_ENDPOINT,
        sageMakerRuntimeEndpoint: e.SAGEGATE_SAGEMAKER_ENDPOINT,
        s3ForcePathStyle: e.SAGEGATE_S3_FORCE_PATH_STYLE,
        maxAttempts: e.SAGEGATE_AWS_MAX_ATTEMPTS,
        s3AttemptTimeoutMs: e.SAGEGATE_S3_ATTEMPT_TIMEOUT_MS,
        s3StallTimeoutMs: e.SAGEGATE_S3_STALL_TIMEOUT_MS,
        readBudgetMs: e.SAGEGATE_READ_BUDGET_MS,
        sageMakerAttemptTimeoutMs: e.SAGEGATE_SAGEMAKER_ATTEMPT_TIMEOUT_MS,
        s3MaxSockets: e.SAGEGATE_S3_MAX_SOCKETS,
        s3UploadMaxSockets: e.SAGEGATE_S3_UPLOAD_MAX_SOCKETS,
        sageMakerMaxSockets: e.SAGEGATE_SAGEMAKER_MAX_SOCKETS,
      }),
    },
    storage: { ...file.storage, ...defined({ bucket: e.SAGEGATE_BUCKET, prefix: e.SAGEGATE_PREFIX }) },
    upload: {
      ...file.upload,
      ...defined({ partSizeBytes: e.SAGEGATE_UPLOAD_PART_SIZE_BYTES, queueSize: e.SAGEGATE_UPLOAD_QUEUE_SIZE, idleTimeoutMs: e.SAGEGATE_UPLOAD_IDLE_TIMEOUT_MS }),
    },
    limits: { ...file.limits, ...defined({ maxConcurrentUploads: e.SAGEGATE_MAX_CONCURRENT_UPLOADS }) },
    local: { ...file.local, ...defined({ enabled: e.SAGEGATE_LOCAL, dataDir: e.SAGEGATE_DATA_DIR, s3Port: e.LOCAL_S3_PORT, sageMakerPort: e.LOCAL_SAGEMAKER_PORT }) },
    models: file.models,
    multiModelEndpoints: file.multiModelEndpoints,
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const m: FileConfig = merged

  // The embedded local stack runs only when asked for, or when nothing points at AWS outside
  // production: a production deployment that forgot its bucket must not store uploads on local disk.
  const pointedAtAws = m.storage?.bucket !== undefined || m.aws?.s3Endpoint !== undefined || m.aws?.sageMakerRuntimeEndpoint !== undefined
  const production = e.NODE_ENV === 'production'
  const localEnabled = m.local?.enabled ?? (!pointedAtAws && !production)
  if (!localEnabled && m.storage?.bucket === undefined) {
    throw new ConfigError([
      production && m.local?.enabled === undefined
        ? 'storage.bucket (SAGEGATE_BUCKET): required in production (NODE_ENV=production); set SAGEGATE_LOCAL=true to run the embedded local stack instead'
        : 'storage.bucket (SAGEGATE_BUCKET): required when the local stack is disabled',
    ])
  }
  return {
    server: {
      host: m.server?.host ?? '127.0.0.1',
      port: m.server?.port ?? 3000,
      logLevel: m.server?.logLevel ?? 'info',
      trustProxy: m.server?.trustProxy ?? false,
      headersTimeoutMs: m.server?.headersTimeoutMs ?? 30_000,
      keepAliveTimeoutMs: m.server?.keepAliveTimeoutMs ?? 72_000,
      drainTimeoutMs: m.server?.drainTimeoutMs ?? 30_000,
    },
    aws: {
      region: m.aws?.region ?? 'us-east-1',
      ...(m.aws?.s3Endpoint !== undefined ? { s3Endpoint: m.aws.s3Endpoint } : {}),
      ...(m.aws?.sageMakerRuntimeEndpoint !== undefined ? { sageMakerRuntimeEndpoint: m.aws.sageMakerRuntimeEndpoint } : {}),
      s3ForcePathStyle: m.aws?.s3ForcePathStyle ?? m.aws?.s3Endpoint !== undefined,
      maxAttempts: m.aws?.maxAttempts ?? 3,
      s3AttemptTimeoutMs: m.aws?.s3AttemptTimeoutMs ?? 4_000,
      s3StallTimeoutMs: m.aws?.s3StallTimeoutMs ?? 5_000,
      readBudgetMs: m.aws?.readBudgetMs ?? 12_000,
      sageMakerAttemptTimeoutMs: m.aws?.sageMakerAttemptTimeoutMs ?? 5_000,
      s3MaxSockets: m.aws?.s3MaxSockets ?? 64,
      s3UploadMaxSockets: m.aws?.s3UploadMaxSockets ?? 128,
      sageMakerMaxSockets: m.aws?.sageMakerMaxSockets ?? 64,
    },
    storage: { bucket: m.storage?.bucket ?? 'sagegate-local', prefix: m.storage?.prefix ?? 'sagegate/' },
    upload: { partSizeBytes: m.upload?.partSizeBytes ?? 8 * MiB, queueSize: m.upload?.queueSize ?? 4, idleTimeoutMs: m.upload?.idleTimeoutMs ?? 30_000 },
    limits: { maxConcurrentUploads: m.limits?.maxConcurrentUploads ?? 256 },
    local: { enabled: localEnabled, dataDir: m.local?.dataDir ?? '.data', s3Port: m.local?.s3Port ?? 0, sageMakerPort: m.local?.sageMakerPort ?? 0 },
    models: m.models ?? {},
    multiModelEndpoints: m.multiModelEndpoints ?? {},
  }
}

/** Validates a models map given in code (tests, the local stack's defaults). */
export function parseModels(models: unknown): Record<string, ModelConfig> {
  const result = fileSchema.shape.models.safeParse(models)
  if (!result.success) throw new ConfigError(issuesOf(result.error, (p) => `models.${p.map(String).join('.')}`))
  return result.data ?? {}
}

/** Validates a multi-model endpoints map given in code. */
export function parseMultiModelEndpoints(endpoints: unknown): Record<string, MultiModelEndpointConfig> {
  const result = fileSchema.shape.multiModelEndpoints.safeParse(endpoints)
  if (!result.success) throw new ConfigError(issuesOf(result.error, (p) => `multiModelEndpoints.${p.map(String).join('.')}`))
  return result.data ?? {}
}
