import { createHash, createHmac } from 'node:crypto'
import { canonicalUri } from '../sigv4.js'

/**
 * A SigV4 signature for one form-encoded Query API POST (the local SNS's Subscribe calls), so the
 * gateway needs no @aws-sdk/client-sns for them. src/local/sigv4.ts verifies; this is its signing half,
 * for the only request shape used here: no query string, signed headers content-type, host, x-amz-date.
 */
export function signQueryPost(input: {
  url: string
  body: string
  region: string
  service: string
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  nowMs?: number
}): Record<string, string> {
  const url = new URL(input.url)
  const amzDate = new Date(input.nowMs ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '')
  const shortDate = amzDate.slice(0, 8)
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: url.host,
    'x-amz-date': amzDate,
    ...(input.credentials.sessionToken !== undefined ? { 'x-amz-security-token': input.credentials.sessionToken } : {}),
  }
  const names = Object.keys(headers).sort()
  const canonicalRequest = [
    'POST',
    canonicalUri(url.pathname, input.service),
    '',
    names.map((n) => `${n}:${headers[n]!.trim()}\n`).join(''),
    names.join(';'),
    sha256Hex(input.body),
  ].join('\n')
  const scope = `${shortDate}/${input.region}/${input.service}/aws4_request`
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`
  let key: Buffer | string = `AWS4${input.credentials.secretAccessKey}`
  for (const part of [shortDate, input.region, input.service, 'aws4_request']) key = hmac(key, part)
  const signature = hmac(key, stringToSign).toString('hex')
  const { host: _host, ...sent } = headers // fetch sets Host itself, to the same value
  return {
    ...sent,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  }
}

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest()
