import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { configSchema, configSections } from './config-schema.js'

export {
  MEDIA_TYPE_PATTERN,
  MODEL_NAME_PATTERN,
  type ApiKeyConfig,
  modelSchema,
  type AsyncModelConfig,
  type ModelConfig,
  type MultiModelEndpointConfig,
  type RealtimeModelConfig,
} from './config-schema.js'

/**
 * The whole configuration: the schema of config-schema.ts (every key, its limits and its default,
 * once), read from an optional file named by SAGEGATE_CONFIG (JSON or YAML), with environment
 * variables laid over it. Every problem is collected before failing, so an operator fixes a bad
 * configuration in one go.
 */

type Section = keyof typeof configSections
type Kind = 'string' | 'number' | 'boolean'

/** Each environment variable and the key it sets; its value is checked by that key's own schema. */
const ENV: Record<string, [Section, string, Kind]> = {
  HOST: ['server', 'host', 'string'],
  PORT: ['server', 'port', 'number'],
  LOG_LEVEL: ['server', 'logLevel', 'string'],
  SAGEGATE_TRUST_PROXY: ['server', 'trustProxy', 'boolean'],
  SAGEGATE_HEADERS_TIMEOUT_MS: ['server', 'headersTimeoutMs', 'number'],
  SAGEGATE_KEEP_ALIVE_TIMEOUT_MS: ['server', 'keepAliveTimeoutMs', 'number'],
  SAGEGATE_DRAIN_TIMEOUT_MS: ['server', 'drainTimeoutMs', 'number'],
  SAGEGATE_DRAIN_DELAY_MS: ['server', 'drainDelayMs', 'number'],
  SAGEGATE_METRICS_PORT: ['server', 'metricsPort', 'number'],
  AWS_REGION: ['aws', 'region', 'string'],
  SAGEGATE_S3_ENDPOINT: ['aws', 's3Endpoint', 'string'],
  SAGEGATE_SAGEMAKER_ENDPOINT: ['aws', 'sageMakerRuntimeEndpoint', 'string'],
  SAGEGATE_S3_FORCE_PATH_STYLE: ['aws', 's3ForcePathStyle', 'boolean'],
  SAGEGATE_AWS_MAX_ATTEMPTS: ['aws', 'maxAttempts', 'number'],
  SAGEGATE_S3_ATTEMPT_TIMEOUT_MS: ['aws', 's3AttemptTimeoutMs', 'number'],
  SAGEGATE_S3_STALL_TIMEOUT_MS: ['aws', 's3StallTimeoutMs', 'number'],
  SAGEGATE_READ_BUDGET_MS: ['aws', 'readBudgetMs', 'number'],
  SAGEGATE_SAGEMAKER_ATTEMPT_TIMEOUT_MS: ['aws', 'sageMakerAttemptTimeoutMs', 'number'],
  SAGEGATE_S3_MAX_SOCKETS: ['aws', 's3MaxSockets', 'number'],
  SAGEGATE_S3_UPLOAD_MAX_SOCKETS: ['aws', 's3UploadMaxSockets', 'number'],
  SAGEGATE_SAGEMAKER_MAX_SOCKETS: ['aws', 'sageMakerMaxSockets', 'number'],
  SAGEGATE_BUCKET: ['storage', 'bucket', 'string'],
  SAGEGATE_PREFIX: ['storage', 'prefix', 'string'],
  SAGEGATE_UPLOAD_PART_SIZE_BYTES: ['upload', 'partSizeBytes', 'number'],
  SAGEGATE_UPLOAD_QUEUE_SIZE: ['upload', 'queueSize', 'number'],
  SAGEGATE_UPLOAD_MAX_BUFFERED_BYTES: ['upload', 'maxBufferedBytes', 'number'],
  SAGEGATE_UPLOAD_IDLE_TIMEOUT_MS: ['upload', 'idleTimeoutMs', 'number'],
  SAGEGATE_RESUMABLE_EXPIRY_MS: ['upload', 'resumableExpiryMs', 'number'],
  SAGEGATE_MAX_CONCURRENT_UPLOADS: ['limits', 'maxConcurrentUploads', 'number'],
  SAGEGATE_MAX_EVENT_LOOP_DELAY_MS: ['limits', 'maxEventLoopDelayMs', 'number'],
  SAGEGATE_ANONYMOUS: ['auth', 'anonymous', 'boolean'],
  SAGEGATE_METRICS_REQUIRE_KEY: ['auth', 'metricsRequireKey', 'boolean'],
  SAGEGATE_WEBHOOK_SECRET: ['webhooks', 'secret', 'string'],
  SAGEGATE_LOCAL: ['local', 'enabled', 'boolean'],
  SAGEGATE_DATA_DIR: ['local', 'dataDir', 'string'],
  LOCAL_S3_PORT: ['local', 's3Port', 'number'],
  LOCAL_SAGEMAKER_PORT: ['local', 'sageMakerPort', 'number'],
}

const readers: Record<Kind, z.ZodType> = {
  string: z.string(),
  // An empty variable is a mistake, not 0 (PORT= would otherwise mean a random port).
  number: z.string().trim().min(1, 'must not be empty').pipe(z.coerce.number()),
  boolean: z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
}

type Parsed = z.output<typeof configSchema>

/** The configuration once loaded: the keys whose defaults depend on others are settled. */
export type Config = Parsed & {
  aws: { s3ForcePathStyle: boolean }
  storage: { bucket: string }
  local: { enabled: boolean }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

function issuesOf(error: z.ZodError, where: (path: PropertyKey[]) => string): string[] {
  // A bad record key (a model name) carries its own message one level down.
  const messageOf = (issue: z.core.$ZodIssue) => (issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message)
  return error.issues.map((issue) => `${where(issue.path)}: ${messageOf(issue)}`)
}

function readConfigFile(path: string): unknown {
  const text = readFileSync(path, 'utf8')
  const ext = extname(path).toLowerCase()
  return ext === '.json' ? JSON.parse(text) : parseYaml(text)
}

/** Variables AWS compute sets for its workloads' credentials (EKS IRSA and Pod Identity, ECS, Lambda). */
export const AWS_COMPUTE_VARIABLES = [
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
] as const

/**
 * Reads the configuration from `env` (and the file it names). Throws a ConfigError naming every bad
 * key — environment variables by their name, file keys by their path — at once.
 */
export function loadConfig(env: Record<string, string | undefined>, readFile: (path: string) => unknown = readConfigFile): Config {
  const problems: string[] = []
  let raw: unknown = {}
  const filePath = env.SAGEGATE_CONFIG
  if (filePath !== undefined && filePath !== '') {
    try {
      raw = readFile(filePath) ?? {}
    } catch (err) {
      problems.push(`SAGEGATE_CONFIG: cannot read ${filePath}: ${(err as Error).message}`)
    }
  }
  const parsed = configSchema.safeParse(raw)
  if (!parsed.success) problems.push(...issuesOf(parsed.error, (p) => `${filePath}: ${p.map(String).join('.') || '(root)'}`))
  const c = (parsed.success ? parsed.data : configSchema.parse({})) as Parsed & Record<Section, Record<string, unknown>>

  for (const [name, [section, key, kind]] of Object.entries(ENV)) {
    const value = env[name]
    if (value === undefined) continue
    const field = (configSections[section].shape as Record<string, z.ZodType>)[key]!
    const result = readers[kind].pipe(field).safeParse(value)
    if (result.success) c[section][key] = result.data
    else problems.push(...issuesOf(result.error, () => name))
  }
  if (problems.length > 0) throw new ConfigError(problems)

  // The embedded local stack runs only when asked for, or when nothing points at AWS outside
  // production: a production deployment that forgot its bucket must not store uploads on local disk.
  // Running on AWS compute counts as production: EKS (IRSA, Pod Identity), ECS and Lambda give their
  // workloads credentials through these variables, which a developer's shell does not have (unlike
  // AWS_PROFILE or AWS_REGION, which do not count, so that `npm start` stays local there).
  const pointedAtAws = c.storage.bucket !== undefined || c.aws.s3Endpoint !== undefined || c.aws.sageMakerRuntimeEndpoint !== undefined
  const onAws = AWS_COMPUTE_VARIABLES.find((name) => env[name] !== undefined && env[name] !== '')
  const production = env.NODE_ENV === 'production' || onAws !== undefined
  const localEnabled = c.local.enabled ?? (!pointedAtAws && !production)
  if (!localEnabled && c.storage.bucket === undefined) {
    const why = env.NODE_ENV === 'production' ? 'NODE_ENV=production' : `running on AWS: ${onAws} is set`
    throw new ConfigError([
      production && c.local.enabled === undefined
        ? `storage.bucket (SAGEGATE_BUCKET): required in production (${why}); set SAGEGATE_LOCAL=true to run the embedded local stack instead`
        : 'storage.bucket (SAGEGATE_BUCKET): required when the local stack is disabled',
    ])
  }
  // Closed by default: a gateway reachable by others must not run every model for anyone by accident.
  if (!localEnabled && c.auth.keys.length === 0 && !c.auth.anonymous) {
    throw new ConfigError([
      'auth.keys: no API keys configured; add keys to the SAGEGATE_CONFIG file, or set auth.anonymous: true (SAGEGATE_ANONYMOUS=true) to run open on purpose',
    ])
  }
  return {
    ...c,
    aws: { ...c.aws, s3ForcePathStyle: c.aws.s3ForcePathStyle ?? c.aws.s3Endpoint !== undefined },
    // With the local stack, server.ts puts its bucket here.
    storage: { ...c.storage, bucket: c.storage.bucket ?? 'sagegate-local' },
    local: { ...c.local, enabled: localEnabled },
  }
}

/** Validates a models map given in code (tests, the local stack's defaults). */
export function parseModels(models: unknown): Config['models'] {
  const result = configSchema.shape.models.safeParse(models)
  if (!result.success) throw new ConfigError(issuesOf(result.error, (p) => `models.${p.map(String).join('.')}`))
  return result.data
}

/** Validates a multi-model endpoints map given in code. */
export function parseMultiModelEndpoints(endpoints: unknown): Config['multiModelEndpoints'] {
  const result = configSchema.shape.multiModelEndpoints.safeParse(endpoints)
  if (!result.success) throw new ConfigError(issuesOf(result.error, (p) => `multiModelEndpoints.${p.map(String).join('.')}`))
  return result.data
}
