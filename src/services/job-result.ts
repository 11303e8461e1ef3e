import type { ObjectInfo } from '../clients/object-store.js'
import { errors } from '../errors.js'
import { ifNoneMatchMatches } from '../lib/etag.js'
import { protectiveHeaders } from '../lib/safe-content.js'
import { parseRange } from '../lib/range.js'

/** The request headers that decide how a job's output is answered. */
export interface ResultConditions {
  range?: string | undefined
  ifNoneMatch?: string | undefined
}

/** From the request's headers (Node's names; a repeated If-None-Match arrives as one joined list). */
export const resultConditions = (headers: { range?: string | undefined; 'if-none-match'?: string | undefined }): ResultConditions => ({
  range: headers.range,
  ifNoneMatch: headers['if-none-match'],
})

export type ResultAnswer = { status: 200 } | { status: 206; range: { start: number; end: number; totalBytes: number } } | { status: 304 }

/** True when the answer depends on the output's metadata, which then needs a HEAD before any GET. */
export const needsHead = (c: ResultConditions): boolean => c.range !== undefined || c.ifNoneMatch !== undefined

/**
 * RFC 9110 §13.2.2: If-None-Match is evaluated before Range, so a client whose copy is current gets
 * 304 even when it also asked for a range. Only a single byte range is served (lib/range.ts); one
 * that cannot be satisfied is a 416.
 */
export function evaluateConditions(info: ObjectInfo, c: ResultConditions): ResultAnswer {
  if (c.ifNoneMatch !== undefined && ifNoneMatchMatches(c.ifNoneMatch, info.etag)) return { status: 304 }
  const range = parseRange(c.range, info.sizeBytes)
  if (range.kind === 'unsatisfiable') throw errors.rangeNotSatisfiable(info.sizeBytes)
  if (range.kind === 'none') return { status: 200 }
  return { status: 206, range: { start: range.start, end: range.end, totalBytes: info.sizeBytes } }
}

/**
 * Every header of an answer about a job's output (`jobId` names the download). A 304 carries the
 * validators and the protective and cache headers a 200 would (RFC 9110 §15.4.5), but no
 * representation metadata such as the length.
 */
export function resultHeaders(jobId: string, info: ObjectInfo, answer: ResultAnswer): Record<string, string> {
  const headers: Record<string, string> = protectiveHeaders(info.contentType, jobId)
  if (info.etag !== undefined) headers.etag = info.etag
  if (info.lastModified !== undefined) headers['last-modified'] = info.lastModified.toUTCString()
  if (answer.status === 304) return headers
  headers['content-type'] = info.contentType ?? 'application/octet-stream'
  headers['accept-ranges'] = 'bytes'
  if (answer.status === 206) {
    const { start, end, totalBytes } = answer.range
    headers['content-length'] = String(end - start + 1)
    headers['content-range'] = `bytes ${start}-${end}/${totalBytes}`
  } else {
    headers['content-length'] = String(info.sizeBytes)
  }
  return headers
}
