import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * Process metrics (memory, CPU, event loop lag) belong to the process, not to an app: collected once,
 * however many apps a process builds (tests build dozens; each collector keeps an event-loop timer).
 */
let processRegistry: Registry | undefined
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry, prefix: 'sagegate_' })
  }
  return processRegistry
}

// Seconds. Requests run from a millisecond (health) to the 1 GB upload or an SSE stream (minutes).
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800]
// An async job may wait up to its RequestTTLSeconds (6 h at most), then run up to its InvocationTimeoutSeconds (1 h).
const JOB_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 21600, 43200]
const WEBHOOK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600]
// A real-time model call (InvokeEndpoint) may take its model's timeoutMs: up to 600 s.
const AWS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

/** The gateway's Prometheus metrics, one registry per app, served with the process's at GET /metrics. */
export function createMetrics() {
  const registry = new Registry()
  const processes = processMetrics()
  const m = {
    contentType: registry.contentType,
    /** The exposition text: this app's metrics and the process's. */
    text: () => Registry.merge([processes, registry]).metrics(),
    uploadBufferBytes: new Gauge({
      name: 'sagegate_upload_buffer_bytes',
      help: 'Memory charged now to the part buffers of streamed uploads: twice the room they reserve (a part, or a smaller body, at a time), at most upload.maxBufferedBytes.',
      registers: [registry],
    }),
    uploadsWaitingForBuffer: new Gauge({
      name: 'sagegate_uploads_waiting_for_buffer',
      help: 'Streamed uploads waiting for a part buffer (upload.maxBufferedBytes reached); their clients are held back by TCP.',
      registers: [registry],
    }),
    uploadsInFlight: new Gauge({ name: 'sagegate_uploads_in_flight', help: 'Uploads being received now.', registers: [registry] }),
    uploadsRefused: new Counter({
      name: 'sagegate_uploads_refused_total',
      help: 'Uploads refused before any byte was read: the concurrency cap, or draining.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    problems: new Counter({ name: 'sagegate_problems_total', help: 'Error answers, by problem code.', labelNames: ['code'], registers: [registry] }),
    clientDisconnects: new Counter({
      name: 'sagegate_client_disconnects_total',
      help: 'Requests whose client went away before the answer.',
      labelNames: ['route'],
      registers: [registry],
    }),
    clientTimeouts: new Counter({
      name: 'sagegate_client_timeouts_total',
      help: 'Connections ended because the client sent (body) or read (response) nothing for the idle timeout.',
      labelNames: ['phase'],
      registers: [registry],
    }),
    dependencyUp: new Gauge({
      name: 'sagegate_dependency_up',
      help: '1 when the last reachability check of a dependency passed.',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    dependencyCheckSeconds: new Gauge({
      name: 'sagegate_dependency_check_seconds',
      help: 'How long the last reachability check of a dependency took.',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'sagegate_auth_failures_total',
      help: 'Requests refused by key checking: missing_key, invalid_key, model_not_allowed.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'sagegate_rate_limited_total',
      help: 'Requests refused (429) by a per-client request limit, by key id ("anonymous" for clients limited by address).',
      labelNames: ['key'],
      registers: [registry],
    }),
    shed: new Counter({ name: 'sagegate_shed_total', help: 'Requests refused (503 overloaded) while the event loop was saturated.', registers: [registry] }),
    draining: new Gauge({ name: 'sagegate_draining', help: '1 while the gateway drains (SIGTERM).', registers: [registry] }),
    cleanupPending: new Gauge({
      name: 'sagegate_cleanup_pending',
      help: 'S3 cleanups (multipart aborts, deletes) waiting to be retried.',
      registers: [registry],
    }),
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route pattern ("unmatched" for no route), method and status class ("none": the client left before any answer); uploads, waits and SSE streams included.',
      labelNames: ['route', 'method', 'status_class'],
      buckets: HTTP_BUCKETS,
      registers: [registry],
    }),
    uploadBytes: new Counter({
      name: 'sagegate_upload_bytes_total',
      help: 'Upload bytes, by way in: jobs (POST /models/{name}/jobs: every byte stored, failed uploads too), tus (/uploads) and direct (presigned S3 multipart): the size of each completed upload when its job starts.',
      labelNames: ['via'],
      registers: [registry],
    }),
    jobsCreated: new Counter({ name: 'sagegate_jobs_created_total', help: 'Async jobs started (InvokeEndpointAsync accepted), by model.', labelNames: ['model'], registers: [registry] }),
    jobsFinished: new Counter({
      name: 'sagegate_jobs_finished_total',
      help: 'Async jobs seen reaching a terminal state by this replica, by model and outcome.',
      labelNames: ['model', 'outcome'],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'sagegate_job_duration_seconds',
      help: "Async jobs from creation to the terminal state this replica saw, by model and outcome.",
      labelNames: ['model', 'outcome'],
      buckets: JOB_BUCKETS,
      registers: [registry],
    }),
    waitsActive: new Gauge({ name: 'sagegate_waits_active', help: 'Clients waiting on a job now (long-poll ?wait= and SSE).', registers: [registry] }),
    webhooksPending: new Gauge({
      name: 'sagegate_webhooks_pending',
      help: "Webhook deliveries pending in S3 (shared by all replicas), as this replica's last sweep found them.",
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'sagegate_webhook_deliveries_total',
      help: 'Webhook deliveries by outcome: delivered (a 2xx), retry (an attempt that failed: timeout, network or HTTP error, refused), failed (a delivery given up, after its last retry).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookDeliveryLatency: new Histogram({
      name: 'sagegate_webhook_delivery_latency_seconds',
      help: "Delivered webhooks: from the delivery's first attempt to the receiver's 2xx, retries included.",
      buckets: WEBHOOK_BUCKETS,
      registers: [registry],
    }),
    snsNotifications: new Counter({
      name: 'sagegate_sns_notifications_total',
      help: 'SNS messages received at POST /notifications/sns, by message type and outcome.',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    modelNotReady: new Counter({
      name: 'sagegate_model_not_ready_retries_total',
      help: 'Real-time calls that ended in ModelNotReadyException (a multi-model cold load; a 429 the SDK itself retries first), by endpoint: predict calls again until the model\'s coldStartWaitMs runs out, then answers 503.',
      labelNames: ['endpoint'],
      registers: [registry],
    }),
    awsRequestDuration: new Histogram({
      name: 'sagegate_aws_request_duration_seconds',
      help: 'AWS SDK calls, all attempts included, until the response headers (a streamed body is not timed), by service and operation.',
      labelNames: ['service', 'operation'],
      buckets: AWS_BUCKETS,
      registers: [registry],
    }),
    awsErrors: new Counter({
      name: 'sagegate_aws_errors_total',
      help: "AWS SDK calls that failed after their last attempt, by service, operation and error code (the error's name).",
      labelNames: ['service', 'operation', 'code'],
      registers: [registry],
    }),
    awsAttempts: new Counter({
      name: 'sagegate_aws_attempts_total',
      help: 'HTTP attempts of AWS SDK calls (the first and each SDK retry), by service and operation.',
      labelNames: ['service', 'operation'],
      registers: [registry],
    }),
  }
  return m
}

export type Metrics = ReturnType<typeof createMetrics>

/** What job and upload code reports; the counters behind it are in createMetrics. */
export interface JobEvents {
  jobCreated(model: string): void
  /** outcome: the terminal status (completed, failed, expired); seconds since the job was created. */
  jobFinished(model: string, outcome: string, seconds: number): void
  uploadBytes(via: UploadVia, n: number): void
}

export type UploadVia = 'jobs' | 'tus' | 'direct'

export function jobEventsOf(m: Metrics): JobEvents {
  return {
    jobCreated: (model) => m.jobsCreated.inc({ model }),
    jobFinished: (model, outcome, seconds) => {
      m.jobsFinished.inc({ model, outcome })
      m.jobDuration.observe({ model, outcome }, Math.max(0, seconds))
    },
    uploadBytes: (via, n) => {
      if (n > 0) m.uploadBytes.inc({ via }, n)
    },
  }
}

/**
 * What the webhook service reports (services/webhooks.ts WebhookEvents). A delivery given up counts
 * its last failed attempt as `retry` and then itself as `failed`.
 */
export function webhookEventsOf(m: Metrics) {
  return {
    delivered: (latencyMs: number) => {
      m.webhookDeliveries.inc({ outcome: 'delivered' })
      m.webhookDeliveryLatency.observe(Math.max(0, latencyMs) / 1000)
    },
    failed: () => m.webhookDeliveries.inc({ outcome: 'failed' }),
    pending: (n: number) => m.webhooksPending.set(n),
    attempt: (outcome: string) => {
      if (outcome !== 'delivered') m.webhookDeliveries.inc({ outcome: 'retry' })
    },
  }
}

/** Error names become label values: only a bounded, safe alphabet (an unknown error must not invent series). */
const codeLabel = (code: string): string => (/^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : 'other')

/** The AWS clients' call observer (clients/aws.ts AwsCallObserver) over these metrics. */
export function awsCallsOf(m: Metrics) {
  return {
    called(service: string, operation: string, seconds: number, errorCode?: string): void {
      m.awsRequestDuration.observe({ service, operation }, seconds)
      if (errorCode !== undefined) m.awsErrors.inc({ service, operation, code: codeLabel(errorCode) })
    },
    attempted(service: string, operation: string): void {
      m.awsAttempts.inc({ service, operation })
    },
  }
}
