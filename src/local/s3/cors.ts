// Bucket CORS as S3 does it: PutBucketCors / GetBucketCors / DeleteBucketCors, the unauthenticated
// OPTIONS preflight evaluated against the bucket's rules, and the CORS headers of a matching rule on
// every answer to a request with an Origin. Browsers PUT presigned upload parts straight to S3 (the
// gateway's direct-to-S3 uploads) only when the bucket allows the page's origin and exposes ETag.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { invalidRequest, malformedXml, S3Error } from './errors.js'
import { requireBucketName, sendEmpty, sendXml, type S3Context } from './http-util.js'
import { hasIntegrityHeader, readXmlBody } from './request-body.js'
import type { Bucket } from './store.js'
import { el, S3_XMLNS } from './xml.js'

export interface CorsRule {
  id?: string
  allowedOrigins: string[]
  allowedMethods: string[]
  allowedHeaders: string[]
  exposeHeaders: string[]
  maxAgeSeconds?: number
}

const METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD'])
const MAX_RULES = 100
const MAX_CORS_BODY_BYTES = 64 * 1024

/** S3's wildcard: at most one `*`, matching any run of characters (case-sensitive for origins). */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern
  const v = ignoreCase ? value.toLowerCase() : value
  const star = p.indexOf('*')
  if (star < 0) return p === v
  const head = p.slice(0, star)
  const tail = p.slice(star + 1)
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail)
}

/** The first rule that allows this origin, method and (for a preflight) these request headers. */
export function matchRule(rules: readonly CorsRule[], origin: string, method: string, requestHeaders: readonly string[] = []): CorsRule | undefined {
  return rules.find(
    (r) =>
      r.allowedOrigins.some((o) => wildcard(o, origin)) &&
      r.allowedMethods.includes(method) &&
      requestHeaders.every((h) => r.allowedHeaders.some((a) => wildcard(a, h, true))),
  )
}

function ruleHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const any = rule.allowedOrigins.includes('*')
  return {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    ...(any ? {} : { 'access-control-allow-credentials': 'true' }),
    ...(rule.exposeHeaders.length > 0 ? { 'access-control-expose-headers': rule.exposeHeaders.join(', ') } : {}),
    ...(rule.maxAgeSeconds !== undefined ? { 'access-control-max-age': String(rule.maxAgeSeconds) } : {}),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  }
}

/** On any request with an Origin that a rule of the bucket allows: that rule's headers (kept on errors too). */
export function applyCorsHeaders(req: IncomingMessage, res: ServerResponse, bucket: Bucket | undefined): void {
  const origin = req.headers.origin
  if (origin === undefined || bucket?.cors === undefined) return
  const rule = matchRule(bucket.cors, origin, (req.method ?? 'GET').toUpperCase())
  if (rule !== undefined) for (const [name, value] of Object.entries(ruleHeaders(rule, origin))) res.setHeader(name, value)
}

const forbidden = (message: string, method: string, resourceType: string) =>
  new S3Error(403, 'AccessForbidden', message, { Method: method, ResourceType: resourceType })

/** OPTIONS: a browser's preflight, answered without a signature as S3 does. */
export function preflight(req: IncomingMessage, res: ServerResponse, bucket: Bucket | undefined, hasKey: boolean, headers: Record<string, string>): void {
  const origin = req.headers.origin
  const method = req.headers['access-control-request-method']
  const resourceType = hasKey ? 'OBJECT' : 'BUCKET'
  if (origin === undefined) throw new S3Error(400, 'BadRequest', 'Insufficient information. Origin request header needed.')
  if (method === undefined) throw new S3Error(400, 'BadRequest', 'Invalid Access-Control-Request-Method: null')
  if (bucket?.cors === undefined) throw forbidden('CORSResponse: CORS is not enabled for this bucket.', method, resourceType)
  const requested = (req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '')
  const rule = matchRule(bucket.cors, origin, method.toUpperCase(), requested)
  if (rule === undefined) {
    throw forbidden(
      'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource\'s CORS spec.',
      method,
      resourceType,
    )
  }
  res.writeHead(200, {
    ...headers,
    ...ruleHeaders(rule, origin),
    ...(requested.length > 0 ? { 'access-control-allow-headers': requested.join(', ') } : {}),
    'content-length': 0,
  })
  res.end()
}

function parseRules(root: { name: string; children: Array<{ name: string; text: string; children: Array<{ name: string; text: string }> }> }): CorsRule[] {
  if (root.name !== 'CORSConfiguration') throw malformedXml()
  const rules = root.children.filter((c) => c.name === 'CORSRule')
  if (rules.length === 0 || rules.length > MAX_RULES) throw malformedXml()
  return rules.map((r) => {
    const all = (name: string) => r.children.filter((c) => c.name === name).map((c) => c.text.trim())
    const rule: CorsRule = {
      allowedOrigins: all('AllowedOrigin'),
      allowedMethods: all('AllowedMethod'),
      allowedHeaders: all('AllowedHeader'),
      exposeHeaders: all('ExposeHeader'),
    }
    const id = all('ID')[0]
    if (id !== undefined) rule.id = id
    const maxAge = all('MaxAgeSeconds')[0]
    if (maxAge !== undefined) {
      if (!/^\d+$/.test(maxAge)) throw malformedXml()
      rule.maxAgeSeconds = Number(maxAge)
    }
    if (rule.allowedOrigins.length === 0 || rule.allowedMethods.length === 0) throw malformedXml()
    for (const m of rule.allowedMethods) if (!METHODS.has(m)) throw invalidRequest(`Found unsupported HTTP method in CORS config. Unsupported method is ${m}`)
    for (const o of rule.allowedOrigins) {
      if (o.split('*').length > 2) throw invalidRequest(`AllowedOrigin "${o}" can not have more than one wildcard.`)
    }
    return rule
  })
}

export async function putBucketCors(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  // S3 requires Content-MD5 or an x-amz-checksum-* for PutBucketCors.
  if (!hasIntegrityHeader(ctx)) throw invalidRequest('Missing required header for this request: Content-MD5')
  const root = await readXmlBody(ctx, MAX_CORS_BODY_BYTES, 'CORSConfiguration')
  await ctx.store.setCors(bucket, parseRules(root))
  sendEmpty(ctx, 200)
}

export function getBucketCors(ctx: S3Context): void {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  if (bucket.cors === undefined) {
    throw new S3Error(404, 'NoSuchCORSConfiguration', 'The CORS configuration does not exist', { BucketName: bucket.name })
  }
  const rules = bucket.cors
    .map(
      (r) =>
        `<CORSRule>${r.id !== undefined ? el('ID', r.id) : ''}${r.allowedHeaders.map((h) => el('AllowedHeader', h)).join('')}${r.allowedMethods.map((m) => el('AllowedMethod', m)).join('')}` +
        `${r.allowedOrigins.map((o) => el('AllowedOrigin', o)).join('')}${r.exposeHeaders.map((h) => el('ExposeHeader', h)).join('')}${r.maxAgeSeconds !== undefined ? el('MaxAgeSeconds', r.maxAgeSeconds) : ''}</CORSRule>`,
    )
    .join('')
  sendXml(ctx, 200, `<CORSConfiguration xmlns="${S3_XMLNS}">${rules}</CORSConfiguration>`)
}

export async function deleteBucketCors(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  await ctx.store.setCors(bucket, undefined)
  sendEmpty(ctx, 204)
}
