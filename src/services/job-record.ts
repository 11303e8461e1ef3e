import { z } from 'zod'
import { logSafeText } from '../lib/untrusted-text.js'
import { ANONYMOUS_TENANT } from './keyring.js'

/**
 * The job record: a small JSON object written once to S3 next to the job's input. Status is never
 * stored here; it is derived from the output and failure objects and the clock.
 */
export const jobRecordSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  model: z.string(),
  endpointName: z.string(),
  createdAt: z.iso.datetime(),
  input: z.object({
    location: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int().nonnegative(),
    filename: z.string().optional(),
  }),
  outputLocation: z.string(),
  failureLocation: z.string().optional(),
  accept: z.string().optional(),
  ttlSeconds: z.number().int(),
  invocationTimeoutSeconds: z.number().int(),
  /** Who made the job; records written before tenants existed have none (the anonymous tenant's). */
  owner: z.object({ tenant: z.string(), keyId: z.string() }).optional(),
  /**
   * Set by DELETE while the job was in progress: the record is rewritten once with it (the only
   * rewrite a record gets), the input is gone, and the job is `canceled` until its data is removed.
   */
  canceledAt: z.iso.datetime().optional(),
})

export type JobRecord = z.infer<typeof jobRecordSchema>
export type JobOwner = NonNullable<JobRecord['owner']>

/** The tenant a job belongs to. */
export const tenantOf = (r: JobRecord): string => r.owner?.tenant ?? ANONYMOUS_TENANT

export type JobStatus = 'in_progress' | 'completed' | 'failed' | 'expired' | 'canceled'

export interface JobView {
  id: string
  model: string
  status: JobStatus
  createdAt: string
  /** After this instant a job with no outcome is reported as expired. */
  deadlineAt: string
  input: { contentType: string; sizeBytes: number; filename?: string }
  result?: { contentType: string; sizeBytes: number }
  error?: { code: FailureCode | 'Expired'; message: string }
  canceledAt?: string
  links: { self: string; result: string }
}

export const jobKeys = (prefix: string, id: string) => ({
  input: `${prefix}jobs/${id}/input`,
  record: `${prefix}jobs/${id}/job.json`,
  /** Everything of the job's own (input, record, upload state, pending webhook) is under this prefix. */
  folder: `${prefix}jobs/${id}/`,
})

/** Queue TTL plus processing timeout, plus a minute of slack for the runtime to write the outcome. */
export const deadlineMs = (r: JobRecord): number =>
  Date.parse(r.createdAt) + (r.ttlSeconds + r.invocationTimeoutSeconds + 60) * 1000

/**
 * What a failed or expired job tells its client: a stable code and a fixed summary for it. The
 * model's own error text may hold internals (paths, stack traces, pieces of inputs), so, as for a
 * real-time 5xx (translateInvokeError), it is logged by the caller and never sent. The codes other
 * than ModelError are the ones the local runtime writes itself (local/runtime/failure-bodies.ts).
 */
export const FAILURE_SUMMARIES = {
  ModelError: 'The model failed to process the input.',
  RequestExpired: 'The request expired in the queue before the model processed it.',
  InvocationTimeout: 'The model did not finish within the invocation timeout.',
  InputDownloadFailed: 'The model could not read the job input.',
  ModelInvocationFailed: 'The model could not be invoked.',
} as const

export type FailureCode = keyof typeof FAILURE_SUMMARIES

export interface Failure {
  /** The runtime's expiry marker (`errorCode: "RequestExpired"`; sagemaker-notes: expiry is "unconfirmed" in AWS). */
  expired: boolean
  code: FailureCode
  /** The fixed summary of `code`: what the client is told. */
  message: string
  /** For the log only: the model's text, control characters removed, clipped. */
  modelMessage: string
  /** For the log only: an errorCode in the body that is not one of ours (the client sees ModelError). */
  modelErrorCode?: string
}

const isFailureCode = (code: string | undefined): code is FailureCode => code !== undefined && Object.hasOwn(FAILURE_SUMMARIES, code)

/** Reads a failure object: the container's error body as it answered, or the runtime's own JSON. */
export function describeFailure(body: string): Failure {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  const rawCode = str(o.errorCode) ?? str(o.ErrorCode)
  const code = isFailureCode(rawCode) ? rawCode : 'ModelError'
  const text = str(o.errorMessage) ?? str(o.message) ?? str(o.Message) ?? str(o.error) ?? body
  return {
    expired: code === 'RequestExpired',
    code,
    message: FAILURE_SUMMARIES[code],
    modelMessage: logSafeText(text) || '(empty)',
    ...(rawCode !== undefined && !isFailureCode(rawCode) ? { modelErrorCode: logSafeText(rawCode, 100) } : {}),
  }
}
