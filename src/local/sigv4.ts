// Generic AWS Signature Version 4 verification (header and presigned-query auth), shared by the local
// S3 server and the local SageMaker runtime. Follows
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html and the behaviour of
// @smithy/signature-v4, which is what the JS SDK actually sends.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

export interface SigV4Request {
  method: string
  /** Raw path as on the wire, without the query. */
  path: string
  /** Raw query string without '?'. */
  query: string
  /** As Node gives them: each character of a value is one byte as received (ISO-8859-1). */
  headers: IncomingHttpHeaders
  /**
   * Hex SHA-256 of the body, for clients that sign the payload without sending `x-amz-content-sha256`
   * (boto3 does this for non-S3 services). The caller computes it after reading a small body.
   */
  payloadHash?: string
}

export type SigV4FailureCode =
  | 'MissingAuthenticationToken'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'IncompleteSignature'
  | 'RequestExpired'
  | 'WrongRegion'

export type SigV4Result =
  | { ok: true; accessKeyId: string; payloadHash: string }
  | { ok: false; code: SigV4FailureCode; message: string; scopeRegion?: string }

export interface SigV4Options {
  service: string
  /** The region this endpoint serves: a credential scoped to another one is refused, as AWS does. */
  region: string
  /** Clock skew allowed for header auth; AWS's default is 15 minutes (SageMaker's is 5). */
  maxSkewMs?: number
  lookupSecret(accessKeyId: string): string | undefined
  nowMs?: number
}

/** What a verified request was signed with: enough to verify aws-chunked chunk signatures. */
export interface SigV4Context {
  accessKeyId: string
  /** The request's own signature: the "seed" signature of a signed aws-chunked body. */
  signature: string
  signingKey: Buffer
  amzDate: string
  scope: string
  /** The payload hash the signature covers: hex, `UNSIGNED-PAYLOAD` or a `STREAMING-...` marker. */
  payloadHash: string
  presigned: boolean
}

export type SigV4DetailedResult =
  | { ok: true; context: SigV4Context }
  | {
      ok: false
      code: SigV4FailureCode
      message: string
      presigned: boolean
      accessKeyId?: string
      canonicalRequest?: string
      stringToSign?: string
      /** WrongRegion: the region the credential was scoped to. */
      scopeRegion?: string
    }

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const ALGORITHM = 'AWS4-HMAC-SHA256'
// SigV4 allows 15 minutes of clock skew for header auth unless a service says less.
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000
// Presigned URLs may live at most 7 days (X-Amz-Expires ≤ 604800).
const MAX_PRESIGN_EXPIRES_S = 604800

export function verifySigV4(req: SigV4Request, opts: SigV4Options): SigV4Result {
  const r = verifySigV4Detailed(req, opts)
  if (r.ok) return { ok: true, accessKeyId: r.context.accessKeyId, payloadHash: r.context.payloadHash }
  return { ok: false, code: r.code, message: r.message, ...(r.scopeRegion !== undefined ? { scopeRegion: r.scopeRegion } : {}) }
}

interface AuthParts {
  presigned: boolean
  credential: string
  signedHeaders: string
  signature: string
  amzDate: string | undefined
  expiresS?: number
  payloadHash: string | undefined
}

export function verifySigV4Detailed(req: SigV4Request, opts: SigV4Options): SigV4DetailedResult {
  const params = parseQuery(req.query)
  const presigned = params.some(([k]) => k === 'X-Amz-Signature' || k === 'X-Amz-Algorithm')
  const fail = (code: SigV4FailureCode, message: string, extra: object = {}): SigV4DetailedResult => ({
    ok: false,
    code,
    message,
    presigned,
    ...extra,
  })

  let parts: AuthParts
  if (presigned) {
    const q = new Map(params)
    if (q.get('X-Amz-Algorithm') !== ALGORITHM) {
      return fail('IncompleteSignature', `X-Amz-Algorithm only supports "${ALGORITHM}"`)
    }
    const credential = q.get('X-Amz-Credential')
    const signedHeaders = q.get('X-Amz-SignedHeaders')
    const signature = q.get('X-Amz-Signature')
    const expires = q.get('X-Amz-Expires')
    if (!credential || !signedHeaders || !signature || !q.get('X-Amz-Date')) {
      return fail(
        'IncompleteSignature',
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      )
    }
    const expiresS = expires === undefined ? MAX_PRESIGN_EXPIRES_S : Number(expires)
    if (!Number.isInteger(expiresS) || expiresS < 0 || expiresS > MAX_PRESIGN_EXPIRES_S) {
      return fail('IncompleteSignature', 'X-Amz-Expires must be an integer between 0 and 604800 seconds')
    }
    parts = {
      presigned,
      credential,
      signedHeaders,
      signature,
      amzDate: q.get('X-Amz-Date'),
      expiresS,
      payloadHash: q.get('X-Amz-Content-Sha256') ?? header(req.headers, 'x-amz-content-sha256'),
    }
  } else {
    const auth = header(req.headers, 'authorization')
    if (auth === undefined || auth === '') {
      return fail('MissingAuthenticationToken', 'Request is missing Authentication Token')
    }
    const parsed = parseAuthorization(auth)
    if (typeof parsed === 'string') return fail('IncompleteSignature', parsed)
    parts = {
      presigned,
      ...parsed,
      amzDate: header(req.headers, 'x-amz-date') ?? dateHeaderToAmzDate(header(req.headers, 'date')),
      payloadHash: header(req.headers, 'x-amz-content-sha256'),
    }
  }

  const scopeParts = parts.credential.split('/')
  const [accessKeyId, shortDate, region, service, terminator] = scopeParts
  if (scopeParts.length !== 5 || !accessKeyId || !shortDate || !region || !service || terminator !== 'aws4_request') {
    return fail('IncompleteSignature', `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parts.credential}'`)
  }
  if (service !== opts.service) {
    return fail('IncompleteSignature', `Credential should be scoped to correct service: '${opts.service}'.`)
  }
  // The scope's region must be the endpoint's: AWS refuses a request signed for another region
  // before checking the signature (each caller words it as its service does).
  if (region !== opts.region) {
    return fail('WrongRegion', `the region '${region}' is wrong; expecting '${opts.region}'`, { scopeRegion: region })
  }
  const amzDate = parts.amzDate
  const signedAtMs = amzDate === undefined ? NaN : amzDateToMs(amzDate)
  if (amzDate === undefined || Number.isNaN(signedAtMs)) {
    return fail('IncompleteSignature', 'Authorization requires a valid x-amz-date or Date header')
  }
  if (amzDate.slice(0, 8) !== shortDate) {
    return fail('IncompleteSignature', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${shortDate}' != '${amzDate.slice(0, 8)}'`)
  }

  const secret = opts.lookupSecret(accessKeyId)
  if (secret === undefined) {
    return fail('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', { accessKeyId })
  }

  const nowMs = opts.nowMs ?? Date.now()
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS
  if (parts.presigned) {
    if (nowMs > signedAtMs + (parts.expiresS ?? 0) * 1000) return fail('RequestExpired', 'Request has expired')
  } else if (Math.abs(nowMs - signedAtMs) > maxSkewMs) {
    const bound = toAmzDate(nowMs + (signedAtMs < nowMs ? -maxSkewMs : maxSkewMs))
    const minutes = maxSkewMs / 60_000
    return fail(
      'RequestExpired',
      signedAtMs < nowMs
        ? `Signature expired: ${amzDate} is now earlier than ${bound} (${toAmzDate(nowMs)} - ${minutes} min.)`
        : `Signature not yet current: ${amzDate} is still later than ${bound} (${toAmzDate(nowMs)} + ${minutes} min.)`,
    )
  }

  // S3 signs an UNSIGNED-PAYLOAD for presigned URLs; other services hash the (usually empty) body.
  const payloadHash =
    parts.payloadHash ?? req.payloadHash ?? (opts.service === 's3' && parts.presigned ? 'UNSIGNED-PAYLOAD' : EMPTY_SHA256)
  const signedHeaderNames = parts.signedHeaders.split(';')
  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(req.path, opts.service),
    canonicalQuery(params, parts.presigned),
    signedHeaderNames.map((name) => `${name}:${canonicalHeaderValue(req.headers[name])}\n`).join(''),
    parts.signedHeaders,
    payloadHash,
  ].join('\n')
  // Header bytes are read as ISO-8859-1 (Node does so) and the canonical request is hashed as UTF-8,
  // as S3 does: its SignatureDoesNotMatch shows UTF-8 'á' sent as `x-amz-meta-x:Ã¡` in StringToSign
  // (Automattic/knox#223), and the JS SDK signs non-ASCII metadata right with a Buffer body (headers
  // go out as latin-1) and wrong with a string body (UTF-8) (aws/aws-sdk-js#1297). So UTF-8 bytes in
  // a header fail here as on AWS; do not "fix" this by hashing the raw bytes.
  const scope = `${shortDate}/${region}/${service}/aws4_request`
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`
  const signingKey = deriveSigningKey(secret, shortDate, region, service)
  const expected = hmac(signingKey, stringToSign).toString('hex')
  if (!safeEqualHex(expected, parts.signature)) {
    return fail(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { accessKeyId, canonicalRequest, stringToSign },
    )
  }
  return {
    ok: true,
    context: { accessKeyId, signature: parts.signature, signingKey, amzDate, scope, payloadHash, presigned: parts.presigned },
  }
}

/** Signature of one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), chained from the previous one. */
export function signChunk(ctx: Pick<SigV4Context, 'signingKey' | 'amzDate' | 'scope'>, previousSignature: string, chunkSha256Hex: string): string {
  const s = `AWS4-HMAC-SHA256-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`
  return hmac(ctx.signingKey, s).toString('hex')
}

/** Signature of the trailing headers of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body. */
export function signTrailer(ctx: Pick<SigV4Context, 'signingKey' | 'amzDate' | 'scope'>, previousSignature: string, canonicalTrailer: string): string {
  const s = `AWS4-HMAC-SHA256-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${previousSignature}\n${sha256Hex(canonicalTrailer)}`
  return hmac(ctx.signingKey, s).toString('hex')
}

export function safeEqualHex(a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  return ab.length === bb.length && timingSafeEqual(ab, bb)
}

function parseAuthorization(auth: string): Pick<AuthParts, 'credential' | 'signedHeaders' | 'signature'> | string {
  const space = auth.indexOf(' ')
  const algorithm = space < 0 ? auth : auth.slice(0, space)
  if (algorithm !== ALGORITHM) return `Unsupported Authorization Type: ${algorithm}`
  const fields = new Map<string, string>()
  for (const item of auth.slice(space + 1).split(',')) {
    const eq = item.indexOf('=')
    if (eq > 0) fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (!credential) return "Authorization header requires 'Credential' parameter."
  if (!signedHeaders) return "Authorization header requires 'SignedHeaders' parameter."
  if (!signature) return "Authorization header requires 'Signature' parameter."
  return { credential, signedHeaders, signature }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v.join(',') : v
}

// Canonical header values: trimmed, inner whitespace runs collapsed, repeated headers joined by ','.
function canonicalHeaderValue(v: string | string[] | undefined): string {
  if (v === undefined) return ''
  const list = Array.isArray(v) ? v : [v]
  return list.map((s) => s.trim().replace(/\s+/g, ' ')).join(',')
}

/**
 * S3 signs the path exactly as sent (no normalisation, no second encoding); every other service signs
 * the normalised path URI-encoded once more (so `%20` on the wire is `%2520` in the canonical URI).
 */
export function canonicalUri(rawPath: string, service: string): string {
  const path = rawPath === '' ? '/' : rawPath
  if (service === 's3') return path
  const segments: string[] = []
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') segments.pop()
    else segments.push(seg)
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`
  return escapeUri(normalized).replace(/%2F/g, '/')
}

function canonicalQuery(params: [string, string][], presigned: boolean): string {
  const encoded: string[] = []
  for (const [k, v] of params) {
    if (presigned && k.toLowerCase() === 'x-amz-signature') continue
    encoded.push(`${escapeUri(k)}=${escapeUri(v)}`)
  }
  // Sorted by encoded name then value (byte order; the encoded strings are ASCII).
  return encoded
    .map((s) => [s.slice(0, s.indexOf('=')), s] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map((x) => x[1])
    .join('&')
}

/** Splits a raw query string into decoded name/value pairs (`a&b=` gives `['a',''],['b','']`). */
export function parseQuery(raw: string): [string, string][] {
  const out: [string, string][] = []
  if (raw === '') return out
  for (const item of raw.split('&')) {
    if (item === '') continue
    const eq = item.indexOf('=')
    const k = eq < 0 ? item : item.slice(0, eq)
    const v = eq < 0 ? '' : item.slice(eq + 1)
    out.push([safeDecode(k), safeDecode(v)])
  }
  return out
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** RFC 3986 encoding as the SDK does it: encodeURIComponent plus `!'()*`. */
export function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

function amzDateToMs(d: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d)
  if (!m) return NaN
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

function toAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
}

function dateHeaderToAmzDate(date: string | undefined): string | undefined {
  if (date === undefined) return undefined
  const ms = Date.parse(date)
  return Number.isNaN(ms) ? undefined : toAmzDate(ms)
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex')
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

// Deriving the key costs four HMACs; requests from one client share a scope, so keep a few.
const signingKeyCache = new Map<string, Buffer>()
const SIGNING_KEY_CACHE_SIZE = 50

function deriveSigningKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  const cacheKey = `${sha256Hex(secret)}/${shortDate}/${region}/${service}`
  const hit = signingKeyCache.get(cacheKey)
  if (hit) return hit
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, shortDate), region), service), 'aws4_request')
  if (signingKeyCache.size >= SIGNING_KEY_CACHE_SIZE) {
    const oldest = signingKeyCache.keys().next().value
    if (oldest !== undefined) signingKeyCache.delete(oldest)
  }
  signingKeyCache.set(cacheKey, key)
  return key
}
