import { z } from 'zod'

/**
 * The configuration's schema: every key once, with its limits, its default and why. The file
 * (SAGEGATE_CONFIG) is validated against it; environment variables (config.ts) override its keys.
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

const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: portNumber.default(3000),
  logLevel: logLevel.default('info'),
  trustProxy: z.boolean().default(false),
  /** A client must send its request headers within this (Node's headersTimeout). */
  headersTimeoutMs: ms(1000).default(30_000),
  /** An idle kept-alive connection is closed after this: above a load balancer's 60 s idle timeout. */
  keepAliveTimeoutMs: ms(1000).default(72_000),
  /** SIGTERM/SIGINT: how long in-flight uploads and calls may take to finish before they are stopped. */
  drainTimeoutMs: ms(0).default(30_000),
  /**
   * SIGTERM/SIGINT: how long the listener stays open (not ready, answering with Connection: close)
   * even with nothing in flight, for load balancers that take a while to see readiness go.
   */
  drainDelayMs: ms(0).default(0),
  /** GET /metrics on a port of its own (plain HTTP, no key), and not on the gateway's; absent: on the gateway's port. */
  metricsPort: portNumber.optional(),
})

const awsSchema = z.strictObject({
  region: z.string().min(1).default('us-east-1'),
  s3Endpoint: z.url().optional(),
  sageMakerRuntimeEndpoint: z.url().optional(),
  /** Default: on when s3Endpoint is set (MinIO, LocalStack, the local stack). */
  s3ForcePathStyle: z.boolean().optional(),
  /** Attempts per AWS call (the SDK's standard retry mode), the first included. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** One attempt of an S3 metadata call (head, small get/put, list, delete), up to the response headers. */
  s3AttemptTimeoutMs: ms(100).default(4_000),
  /**
   * An upload part (each attempt), or a result being read, that makes no progress for this long
   * fails. Node lets a write that was still draining count as progress once, so a part attempt on a
   * frozen S3 fails after one to two times this; with 3 attempts an upload fails within about 25 s.
   * Below 6 s: the SDK registers longer socket timeouts only 3 s into an attempt.
   */
  s3StallTimeoutMs: ms(100).default(4_000),
  /** Every S3 call of one status poll, result read or model listing together, retries included. */
  readBudgetMs: ms(100).default(12_000),
  /** One attempt of InvokeEndpointAsync, up to the response headers (real-time calls use the model's timeoutMs). */
  sageMakerAttemptTimeoutMs: ms(100).default(5_000),
  s3MaxSockets: maxSockets.default(64),
  /** A pool of its own, so that uploads never starve status polls and result reads of sockets. */
  s3UploadMaxSockets: maxSockets.default(128),
  sageMakerMaxSockets: maxSockets.default(64),
})

const storageSchema = z.strictObject({
  /** Required unless the local stack runs (config.ts). */
  bucket: bucketName.optional(),
  prefix: keyPrefix.default('sagegate/'),
})

const uploadSchema = z.strictObject({
  partSizeBytes: partSizeBytes.default(8 * MiB),
  queueSize: queueSize.default(4),
  /**
   * The memory the part buffers of all streamed uploads together (POST /models/{name}/jobs) may take:
   * past it an upload waits for room, its client held back by TCP, instead of allocating. A part of
   * room costs two parts of memory (lib-storage keeps the part just sent until the next is
   * assembled), so the default, 96 MiB, lets 6 uploads of 8 MiB parts fill a part at once (one upload
   * keeps its 4 parts in flight); it suits an instance with 1 GiB of memory. Buffers received from
   * sockets and not yet collected come on top: 64 concurrent 16 MiB uploads peaked at 321-355 MiB RSS
   * with 96 MiB, 356-395 MiB with 128 MiB (bench:burst, BENCH_ONLY=uploads). At least two parts are used.
   */
  maxBufferedBytes: z.number().int().min(5 * MiB).max(64 * GiB).default(96 * MiB),
  /** A request body with no byte from the client for this long is ended (408). */
  idleTimeoutMs: ms(100).default(30_000),
  /** A resumable (tus) upload not finished within this is removed: its multipart upload aborted, its objects deleted. */
  resumableExpiryMs: z.number().int().min(1000).max(30 * 24 * 60 * 60 * 1000).default(24 * 60 * 60 * 1000),
})

const limitsSchema = z.strictObject({
  /** Uploads received at once; past it, 503 too_many_uploads before any byte is read. */
  maxConcurrentUploads: z.number().int().min(1).max(100_000).default(256),
  /**
   * Load shedding (@fastify/under-pressure): past this event-loop delay, requests other than the
   * health routes get 503 overloaded with Retry-After. 0 turns it off.
   */
  maxEventLoopDelayMs: z.number().int().min(0).max(60_000).default(1_000),
})

// An id or tenant appears in logs, metrics and S3 keys: a short, safe alphabet.
const principalName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')

/** One API key. Only its SHA-256 is configured; the key itself is never stored, logged or counted by. */
const apiKeySchema = z.strictObject({
  /** Appears in logs and metrics (the key itself never does). */
  id: principalName,
  /** Jobs belong to a tenant: shared by its keys, a 404 to every other tenant. */
  tenant: principalName,
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the hex SHA-256 of the key (64 hex digits)')
    .transform((s) => s.toLowerCase()),
  /** Routable model names this key may call, or "*" for all. */
  models: z.array(z.union([z.literal('*'), z.string().regex(modelNamePattern, 'must be a model name or "*"')])).min(1).default(['*']),
  /** Requests per minute on model calls and job routes; absent means no per-key limit. */
  requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
  /** Uploads this key may run at once; absent means only the gateway's own cap. */
  maxConcurrentUploads: z.number().int().min(1).max(100_000).optional(),
})

const authSchema = z
  .strictObject({
    keys: z.array(apiKeySchema).default([]),
    /** With no keys, a deployment outside the local stack refuses to start unless this says so. */
    anonymous: z.boolean().default(false),
    /** Anonymous clients (no keys configured), per client IP: requests per minute and uploads at once. */
    anonymousRequestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
    anonymousMaxConcurrentUploads: z.number().int().min(1).max(100_000).optional(),
    /** /metrics answers only with a valid key (any key). */
    metricsRequireKey: z.boolean().default(false),
  })
  .superRefine((auth, ctx) => {
    const seen = { id: new Set<string>(), sha256: new Set<string>() }
    auth.keys.forEach((key, i) => {
      for (const field of ['id', 'sha256'] as const) {
        if (seen[field].has(key[field])) ctx.addIssue({ code: 'custom', path: ['keys', i, field], message: `duplicate ${field}: every key needs its own` })
        seen[field].add(key[field])
      }
    })
  })

// A browser's Origin: scheme, host and port only, no path.
const origin = z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/, 'must be an origin such as https://app.example.com (no path, no trailing "/")')

const corsSchema = z.strictObject({
  /** Browser origins allowed to call the API; empty means no CORS headers at all. */
  origins: z.array(origin).default([]),
  /** How long a browser may cache a preflight answer. */
  maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
})

const idempotencySchema = z.strictObject({
  /** How long an Idempotency-Key is remembered (S3 objects next to the jobs; a lifecycle rule may remove them after). */
  ttlSeconds: z.number().int().min(60).max(7 * 86_400).default(86_400),
})

const waitsSchema = z.strictObject({
  /**
   * A job someone waits on (long-poll, SSE) is checked on S3 (a HEAD of its output and of its
   * failure location) first after this, then at doubling intervals up to maxPollIntervalMs. One
   * watcher per job, however many clients wait on it; an SNS notification wakes it at once. (A job
   * with a pending webhook and nobody waiting is looked at by the webhook sweep: from
   * webhooks.sweepIntervalMs, doubling up to maxPollIntervalMs.)
   */
  minPollIntervalMs: ms(50).default(500),
  /** Default: 5 s, or 30 s when SNS notifications (notifications.topicArns) tell the gateway of ends at once. */
  maxPollIntervalMs: ms(100).optional(),
  /** An SSE stream sends a comment line when it has sent nothing for this long (proxies close idle streams). */
  heartbeatMs: ms(1000).default(15_000),
})

// A webhook host rule: a hostname (`hooks.example.com`), a subdomain wildcard (`*.example.com`) or an IP.
const hostRule = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(/^(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$|^[0-9a-f:.]+$/, 'must be a hostname, *.domain or an IP address (no port, no scheme)'))

const webhooksSchema = z
  .strictObject({
    /** Hosts a job's callback URL may name (the port is not part of the match). Empty: no webhooks. */
    allowedHosts: z.array(hostRule).default([]),
    /** Standard Webhooks signing secret, `whsec_` + base64 (at least 24 bytes). Never logged. */
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
      .refine((s) => Buffer.from(s.slice(6), 'base64').length >= 24, 'must hold at least 24 random bytes')
      .optional(),
    /** One delivery attempt, connection to the end of the response. */
    timeoutMs: ms(100).default(10_000),
    /** Retries stop this long after the first attempt (the delivery is then marked failed). */
    retryForMs: z.number().int().min(1000).max(7 * 86_400_000).default(86_400_000),
    /** How often each replica looks in S3 for deliveries that are due (its own, another replica's, one left by a restart). */
    sweepIntervalMs: ms(100).default(5_000),
  })
  .superRefine((w, ctx) => {
    if (w.allowedHosts.length > 0 && w.secret === undefined) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'required when allowedHosts is set (deliveries are signed)' })
  })

// arn:aws:sns:<region>:<account>:<topic>
const topicArn = z.string().regex(/^arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/, 'must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:inference-done')

const notificationsSchema = z.strictObject({
  /** SNS topics whose subscription the gateway confirms and whose notifications it accepts at POST /notifications/sns. */
  topicArns: z.array(topicArn).default([]),
})

const localSchema = z.strictObject({
  /** Default: only with no AWS configuration outside production (config.ts). */
  enabled: z.boolean().optional(),
  dataDir: z.string().min(1).default('.data'),
  s3Port: portNumber.default(0),
  sageMakerPort: portNumber.default(0),
})

/** The sections environment variables can set (config.ts), by name. */
export const configSections = {
  server: serverSchema,
  aws: awsSchema,
  storage: storageSchema,
  upload: uploadSchema,
  limits: limitsSchema,
  local: localSchema,
  auth: authSchema,
  waits: waitsSchema,
  webhooks: webhooksSchema,
}

/** The configuration file; with the defaults filled in, the whole configuration before the environment. */
export const configSchema = z.strictObject({
  server: serverSchema.prefault({}),
  aws: awsSchema.prefault({}),
  storage: storageSchema.prefault({}),
  upload: uploadSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  local: localSchema.prefault({}),
  auth: authSchema.prefault({}),
  cors: corsSchema.prefault({}),
  idempotency: idempotencySchema.prefault({}),
  waits: waitsSchema.prefault({}),
  webhooks: webhooksSchema.prefault({}),
  notifications: notificationsSchema.prefault({}),
  models: z.record(z.string().regex(modelNamePattern, 'model names are lowercase letters, digits, ".", "_" and "-"'), modelSchema).default({}),
  multiModelEndpoints: z.record(z.string().regex(endpointNamePattern, 'must be a SageMaker endpoint name'), multiModelEndpointSchema).default({}),
})

export type ModelConfig = z.infer<typeof modelSchema>
export type AsyncModelConfig = z.infer<typeof asyncModelSchema>
export type RealtimeModelConfig = z.infer<typeof realtimeModelSchema>
export type ApiKeyConfig = z.infer<typeof apiKeySchema>
export type MultiModelEndpointConfig = z.infer<typeof multiModelEndpointSchema>
export const MODEL_NAME_PATTERN = modelNamePattern
export const MEDIA_TYPE_PATTERN = mediaTypePattern
