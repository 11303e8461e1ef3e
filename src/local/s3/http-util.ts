// Request context and HTTP helpers shared by the S3 handlers.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { SigV4Context } from '../sigv4.js'
import { checksumHeaderName } from './checksums.js'
import { invalidArgument, S3Error } from './errors.js'
import type { ObjectMeta, ObjectStore } from './store.js'
import { XML_DECL } from './xml.js'

export interface S3Context {
  req: IncomingMessage
  res: ServerResponse
  store: ObjectStore
  logger: Logger
  requestId: string
  method: string
  bucketName: string | undefined
  key: string | undefined
  query: Map<string, string>
  auth: SigV4Context
  /** The client sent `Expect: 100-continue`: answer it only once the request is known to be acceptable. */
  expectContinue: boolean
  region: string
  owner: { id: string; displayName: string }
}

/** Sends `100 Continue` (once) right before the body is read, so refused requests never upload it. */
export function continueBody(ctx: S3Context): void {
  if (ctx.expectContinue) {
    ctx.expectContinue = false
    ctx.res.writeContinue()
  }
}

export function baseHeaders(ctx: S3Context): Record<string, string> {
  return { 'x-amz-request-id': ctx.requestId, 'x-amz-id-2': ctx.requestId, server: 'AmazonS3' }
}

export function sendXml(ctx: S3Context, status: number, xmlBody: string, headers: Record<string, string | number> = {}): void {
  const body = Buffer.from(XML_DECL + xmlBody, 'utf8')
  ctx.res.writeHead(status, {
    ...baseHeaders(ctx),
    'content-type': 'application/xml',
    'content-length': body.length,
    ...headers,
  })
  ctx.res.end(body)
}

export function sendEmpty(ctx: S3Context, status: number, headers: Record<string, string | number> = {}): void {
  ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers })
  ctx.res.end()
}

export function requireBucketName(ctx: S3Context): string {
  if (ctx.bucketName === undefined) throw new S3Error(400, 'InvalidRequest', 'A bucket is required')
  return ctx.bucketName
}

export function requireKey(ctx: S3Context): string {
  if (ctx.key === undefined) throw new S3Error(400, 'InvalidRequest', 'A key is required')
  return ctx.key
}

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name]
  return Array.isArray(v) ? v.join(', ') : v
}

// Representation headers S3 stores with an object and returns on GET/HEAD.
const STORED_HEADERS = ['content-disposition', 'cache-control', 'content-encoding', 'content-language', 'expires'] as const
// S3 limit on user-defined metadata: 2 KB for all x-amz-meta-* names and values.
const MAX_USER_META_BYTES = 2048

export interface Representation {
  contentType: string
  headers: Record<string, string>
  userMeta: Record<string, string>
}

export function representationFromHeaders(h: IncomingHttpHeaders): Representation {
  const headers: Record<string, string> = {}
  for (const name of STORED_HEADERS) {
    let v = header(h, name)
    // aws-chunked is transfer framing, not a property of the object.
    if (name === 'content-encoding' && v !== undefined) {
      v = v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked').join(',')
    }
    if (v !== undefined && v !== '') headers[name] = v
  }
  const userMeta: Record<string, string> = {}
  let metaBytes = 0
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue
    const v = Array.isArray(value) ? value.join(',') : value
    const short = name.slice('x-amz-meta-'.length)
    userMeta[short] = v
    metaBytes += Buffer.byteLength(short) + Buffer.byteLength(v)
  }
  if (metaBytes > MAX_USER_META_BYTES) {
    throw new S3Error(400, 'MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size', {
      Size: String(metaBytes),
      MaxSizeAllowed: String(MAX_USER_META_BYTES),
    })
  }
  return { contentType: header(h, 'content-type') ?? 'binary/octet-stream', headers, userMeta }
}

// GetObject response-* query overrides (used by presigned download links).
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
}

export function objectHeaders(meta: ObjectMeta, query: Map<string, string>, withChecksum: boolean): Record<string, string | number> {
  const out: Record<string, string | number> = {
    'content-type': meta.contentType,
    etag: meta.etag,
    'last-modified': httpDate(meta.lastModifiedMs),
    'accept-ranges': 'bytes',
    ...meta.headers,
  }
  for (const [k, v] of Object.entries(meta.userMeta)) out[`x-amz-meta-${k}`] = v
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = query.get(param)
    if (v !== undefined) out[name] = v
  }
  if (withChecksum && meta.checksum) {
    out[checksumHeaderName(meta.checksum.algorithm)] = meta.checksum.value
    out['x-amz-checksum-type'] = meta.checksum.type
  }
  return out
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString()
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString()
}

export type RangeResult = { kind: 'none' } | { kind: 'range'; start: number; end: number } | { kind: 'unsatisfiable' }

/**
 * RFC 9110 §14 single byte range. S3 ignores a syntactically invalid or multi-range header and sends
 * the whole object; a range starting at or after the end is 416.
 */
export function parseRange(value: string | undefined, sizeBytes: number): RangeResult {
  if (value === undefined) return { kind: 'none' }
  const m = /^\s*bytes=(\d*)-(\d*)\s*$/.exec(value)
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'none' }
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0 || sizeBytes === 0) return { kind: 'unsatisfiable' }
    return { kind: 'range', start: Math.max(0, sizeBytes - suffix), end: sizeBytes - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? sizeBytes - 1 : Math.min(Number(m[2]), sizeBytes - 1)
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'none' }
  if (start >= sizeBytes) return { kind: 'unsatisfiable' }
  return { kind: 'range', start, end }
}

/**
 * Conditional request evaluation, RFC 9110 §13.2.2 order: If-Match, else If-Unmodified-Since (→ 412);
 * then If-None-Match, else If-Modified-Since (→ 304 for GET/HEAD). Dates compare at second precision
 * because Last-Modified has no more.
 */
export function evaluateConditions(
  get: (name: string) => string | undefined,
  meta: ObjectMeta,
): 'ok' | 'not-modified' | 'precondition-failed' {
  const modifiedS = Math.floor(meta.lastModifiedMs / 1000)
  const ifMatch = get('if-match')
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, meta.etag)) return 'precondition-failed'
  } else {
    const ius = parseHttpDate(get('if-unmodified-since'))
    if (ius !== undefined && modifiedS > ius) return 'precondition-failed'
  }
  const ifNoneMatch = get('if-none-match')
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, meta.etag)) return 'not-modified'
  } else {
    const ims = parseHttpDate(get('if-modified-since'))
    if (ims !== undefined && modifiedS <= ims) return 'not-modified'
  }
  return 'ok'
}

function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const s = t.trim().replace(/^W\//, '')
    return s === '*' || s === etag || `"${s}"` === etag
  })
}

function parseHttpDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

export function parseIntParam(ctx: S3Context, name: string, def: number, min: number, max: number): number {
  const raw = ctx.query.get(name)
  if (raw === undefined) return def
  const n = Number(raw)
  if (!/^-?\d+$/.test(raw) || n < min) throw invalidArgument(`Provided ${name} not valid.`, name, raw)
  return Math.min(n, max)
}
