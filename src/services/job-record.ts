import { z } from 'zod'

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
})

export type JobRecord = z.infer<typeof jobRecordSchema>

export type JobStatus = 'in_progress' | 'completed' | 'failed' | 'expired'

export interface JobView {
  id: string
  model: string
  status: JobStatus
  createdAt: string
  /** After this instant a job with no outcome is reported as expired. */
  deadlineAt: string
  input: { contentType: string; sizeBytes: number; filename?: string }
  result?: { contentType: string; sizeBytes: number }
  error?: { code: string; message: string }
  links: { self: string; result: string }
}

export const jobKeys = (prefix: string, id: string) => ({
  input: `${prefix}jobs/${id}/input`,
  record: `${prefix}jobs/${id}/job.json`,
})

/** Queue TTL plus processing timeout, plus a minute of slack for the runtime to write the outcome. */
export const deadlineMs = (r: JobRecord): number =>
  Date.parse(r.createdAt) + (r.ttlSeconds + r.invocationTimeoutSeconds + 60) * 1000

/**
 * Reads a failure object. The model's own error body is kept as the message (trimmed); the local
 * runtime's expiry marker (`errorCode: "RequestExpired"`, sagemaker-notes: expiry is "unconfirmed"
 * in AWS) makes the job `expired` rather than `failed`.
 */
export function describeFailure(body: string): { expired: boolean; code: string; message: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  const code = str(o.errorCode) ?? str(o.ErrorCode) ?? 'ModelError'
  const message = str(o.errorMessage) ?? str(o.message) ?? str(o.Message) ?? str(o.error) ?? (body.trim() || 'The model failed.')
  return { expired: code === 'RequestExpired', code, message: message.length > 2000 ? `${message.slice(0, 2000)}…` : message }
}
