// Hand-built, SigV4-signed requests (with @smithy/signature-v4) for wire cases the SDK never produces.
import { SignatureV4 } from '@smithy/signature-v4'
import { createHash, createHmac } from 'node:crypto'
import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http'
import { CREDENTIALS, REGION } from './helpers.js'

export class NodeSha256 {
  private readonly h
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret))
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBuffer(data))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
}

function toBuffer(d: string | ArrayBuffer | ArrayBufferView): Buffer | string {
  if (typeof d === 'string') return d
  if (d instanceof ArrayBuffer) return Buffer.from(d)
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength)
}

export function signer(service = 's3', credentials = CREDENTIALS, region = REGION): SignatureV4 {
  return new SignatureV4({ service, region, credentials, sha256: NodeSha256, uriEscapePath: service !== 's3', applyChecksum: true })
}

export interface RawRequest {
  method: string
  /** Path as it goes on the wire (already encoded). */
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
}

/** Signs the request; `x-amz-content-sha256` must be among the headers (it is the signed payload hash). */
export async function signRaw(url: string, r: RawRequest, service = 's3', signingDate?: Date) {
  const u = new URL(url)
  const signed = await signer(service).sign(
    {
      method: r.method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: r.path,
      query: r.query ?? {},
      headers: { host: u.host, ...(r.headers ?? {}) },
    },
    signingDate ? { signingDate } : {},
  )
  return signed
}

export function queryString(q: Record<string, string> | undefined): string {
  const s = Object.entries(q ?? {}).map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join('&')
  return s === '' ? '' : `?${s}`
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** Opens a signed request; the caller writes the body and ends it. */
export async function openRaw(url: string, r: RawRequest): Promise<{ req: ClientRequest; response: Promise<RawResponse> }> {
  const signed = await signRaw(url, r)
  const u = new URL(url)
  const req = request({
    host: u.hostname,
    port: u.port,
    method: r.method,
    path: `${r.path}${queryString(r.query)}`,
    headers: signed.headers,
    agent: false,
  })
  const response = new Promise<RawResponse>((resolve, reject) => {
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
  })
  return { req, response }
}

export async function sendRaw(url: string, r: RawRequest, body?: Buffer | string): Promise<RawResponse> {
  const { req, response } = await openRaw(url, r)
  req.end(body)
  return response
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}
