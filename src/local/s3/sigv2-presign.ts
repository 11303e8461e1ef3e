// Legacy Signature Version 2 query-string auth (`?AWSAccessKeyId=..&Expires=..&Signature=..`).
// boto3's generate_presigned_url and `aws s3 presign` still produce these for custom endpoints, so
// presigned links made by those tools work. https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { SigV4DetailedResult } from '../sigv4.js'

// Query parameters that are part of the SigV2 CanonicalizedResource (botocore's list).
const SUB_RESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'defaultObjectAcl', 'delete', 'inventory', 'lifecycle', 'location',
  'logging', 'metrics', 'notification', 'object-lock', 'partNumber', 'policy', 'replication', 'requestPayment',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding', 'response-content-language',
  'response-content-type', 'response-expires', 'restore', 'select', 'select-type', 'storageClass', 'tagging',
  'torrent', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website',
])

export function isSigV2Presigned(params: [string, string][]): boolean {
  return params.some(([k]) => k === 'AWSAccessKeyId') && params.some(([k]) => k === 'Signature')
}

export function verifySigV2Presigned(
  req: { method: string; path: string; query: [string, string][]; headers: IncomingHttpHeaders },
  opts: { lookupSecret(accessKeyId: string): string | undefined; nowMs?: number },
): SigV4DetailedResult {
  const q = new Map(req.query)
  const accessKeyId = q.get('AWSAccessKeyId') ?? ''
  const signature = q.get('Signature') ?? ''
  const expires = q.get('Expires') ?? ''
  const fail = (code: 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'IncompleteSignature' | 'RequestExpired', message: string, extra: object = {}): SigV4DetailedResult => ({
    ok: false, code, message, presigned: true, accessKeyId, ...extra,
  })
  if (!/^\d+$/.test(expires)) return fail('IncompleteSignature', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters')
  const secret = opts.lookupSecret(accessKeyId)
  if (secret === undefined) return fail('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.')
  if ((opts.nowMs ?? Date.now()) > Number(expires) * 1000) return fail('RequestExpired', 'Request has expired')

  const header = (n: string): string => {
    const v = req.headers[n]
    return Array.isArray(v) ? v.join(',') : (v ?? '')
  }
  const amzHeaders = Object.keys(req.headers)
    .filter((n) => n.startsWith('x-amz-'))
    .sort()
    .map((n) => `${n}:${header(n).trim()}\n`)
    .join('')
  const subResources = req.query
    .filter(([k]) => SUB_RESOURCES.has(k))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
  const resource = `${req.path}${subResources.length > 0 ? `?${subResources.join('&')}` : ''}`
  const stringToSign = `${req.method}\n${header('content-md5')}\n${header('content-type')}\n${expires}\n${amzHeaders}${resource}`
  const expected = createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64')
  const a = Buffer.from(expected)
  const b = Buffer.from(signature)
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return fail('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', { stringToSign })
  }
  return {
    ok: true,
    context: { accessKeyId, signature, signingKey: Buffer.alloc(0), amzDate: '', scope: '', payloadHash: 'UNSIGNED-PAYLOAD', presigned: true },
  }
}
