import { randomBytes } from 'node:crypto'

/**
 * Job ids are 128 random bits in base64url (22 characters): unguessable, URL-safe and within
 * SageMaker's InferenceId constraint (1–64 printable characters).
 */
const JOB_ID = /^[A-Za-z0-9_-]{22}$/

export const newJobId = (): string => randomBytes(16).toString('base64url')
export const isJobId = (id: string): boolean => JOB_ID.test(id)
