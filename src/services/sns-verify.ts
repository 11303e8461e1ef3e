import { createPublicKey, verify as verifySignature, X509Certificate, type KeyObject } from 'node:crypto'
import type { Logger } from 'pino'
import { z } from 'zod'
import { describeError } from '../lib/describe-error.js'
import { Lru } from '../lib/lru.js'

/**
 * Verifies the signed envelope Amazon SNS posts to an HTTP(S) subscriber, following AWS's "Verifying
 * the signatures of Amazon SNS messages": the certificate URL must be SNS's own (checked before
 * anything is fetched), the string to sign is rebuilt from the named fields in their fixed order, and
 * the signature is checked with the certificate's public key (SignatureVersion 1 = SHA1withRSA,
 * 2 = SHA256withRSA).
 */

const Base = {
  MessageId: z.string().min(1).max(256),
  TopicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/),
  Message: z.string(),
  Timestamp: z.iso.datetime({ offset: true }),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1),
  SigningCertURL: z.string().min(1),
}

export const SnsMessage = z.discriminatedUnion('Type', [
  z.looseObject({ Type: z.literal('Notification'), ...Base, Subject: z.string().optional(), UnsubscribeURL: z.string().optional() }),
  z.looseObject({ Type: z.literal('SubscriptionConfirmation'), ...Base, SubscribeURL: z.string().min(1), Token: z.string().min(1) }),
  z.looseObject({ Type: z.literal('UnsubscribeConfirmation'), ...Base, SubscribeURL: z.string().min(1), Token: z.string().min(1) }),
])
export type SnsMessage = z.infer<typeof SnsMessage>

export type SnsRejection =
  /** Not an SNS envelope: fields missing or of the wrong kind. */
  | 'malformed'
  /** No Signature, or a SignatureVersion this verifier does not know. */
  | 'unsigned'
  /** The certificate (or a SubscribeURL) is not SNS's: refused without fetching it. */
  | 'untrusted_url'
  /** The certificate could not be fetched or read (a network failure: the sender may retry). */
  | 'certificate_unavailable'
  /** The signature does not match the fields: forged or altered. */
  | 'bad_signature'
  /** Timestamp older than MAX_MESSAGE_AGE_MS (or too far in the future): a possible replay. */
  | 'stale'

export class SnsVerificationError extends Error {
  constructor(
    readonly reason: SnsRejection,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options)
    this.name = 'SnsVerificationError'
  }
}

// AWS: "Verify that the SigningCertURL ... is from Amazon SNS"; SNS hosts are sns.<region>.amazonaws.com(.cn).
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/
/**
 * Replay window. Timestamp is when the message was published, and stays so in every retry; an HTTP(S)
 * delivery policy may retry for at most 3,600 seconds (AWS's limit), so an older message is not a
 * delivery SNS would make: it is refused as a replay of a captured one.
 */
export const MAX_MESSAGE_AGE_MS = 60 * 60 * 1000
// Clocks differ: a Timestamp a little ahead of ours is fine, one far ahead is not a real message.
const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000
const CERT_FETCH_TIMEOUT_MS = 5000
// SNS's certificates are about 2 KB of PEM; anything much larger is not one.
const CERT_MAX_BYTES = 64 * 1024
const CERT_CACHE_SIZE = 32

export type FetchCertificate = (url: string, signal: AbortSignal) => Promise<string>

export interface SnsVerifierOptions {
  /** Fetches a PEM certificate; default: GET with fetch, at most 64 KiB. */
  fetchCertificate?: FetchCertificate
  /**
   * Certificate URLs accepted as they are, though not SNS's own (the local stack's SNS). Given in
   * code by whoever starts that stack, never read from configuration. Their origins are also
   * accepted as SubscribeURL origins.
   */
  trustedCertificateUrls?: readonly string[]
  logger: Logger
  clock?: () => number
  certificateTimeoutMs?: number
}

export interface SnsVerifier {
  /** The message if it is a well-formed, correctly signed, fresh SNS envelope; else SnsVerificationError. */
  verify(message: unknown): Promise<SnsMessage>
  /** True when a SubscribeURL may be fetched: https on an SNS host, or a trusted (local) origin. */
  isAllowedSubscribeUrl(url: string): boolean
}

/** AWS's string to sign: `Key\nValue\n` for each field in this order (Subject only when present). */
export function snsStringToSign(m: Record<string, unknown>): string {
  const keys =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', ...(m.Subject !== undefined ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
  return keys.map((k) => `${k}\n${String(m[k] ?? '')}\n`).join('')
}

export const SNS_SIGNATURE_ALGORITHMS = { '1': 'sha1', '2': 'sha256' } as const

/**
 * An https URL on an SNS host (no credentials, no port but 443) naming one of SNS's signing
 * certificates, `/SimpleNotificationService-<id>.pem`, and nothing else on that host.
 */
export function isSnsCertificateUrl(raw: string): boolean {
  const url = parseUrl(raw)
  return url !== undefined && isSnsHttps(url) && /^\/SimpleNotificationService-[A-Za-z0-9]{1,64}\.pem$/.test(url.pathname) && url.search === ''
}

function isSnsHttps(url: URL): boolean {
  return url.protocol === 'https:' && url.port === '' && url.username === '' && url.password === '' && SNS_HOST.test(url.hostname)
}

function parseUrl(raw: string): URL | undefined {
  try {
    return new URL(raw)
  } catch {
    return undefined
  }
}

export function createSnsVerifier(options: SnsVerifierOptions): SnsVerifier {
  const clock = options.clock ?? Date.now
  const fetchCertificate = options.fetchCertificate ?? fetchPem
  const timeoutMs = options.certificateTimeoutMs ?? CERT_FETCH_TIMEOUT_MS
  const trusted = new Set(options.trustedCertificateUrls ?? [])
  const trustedOrigins = new Set([...trusted].flatMap((u) => parseUrl(u)?.origin ?? []))
  const keys = new Lru<string, KeyObject>(CERT_CACHE_SIZE)
  // Messages that arrive together share one fetch of their certificate.
  const pending = new Map<string, Promise<KeyObject>>()

  async function publicKey(url: string): Promise<KeyObject> {
    const known = keys.get(url)
    if (known !== undefined) return known
    let loading = pending.get(url)
    if (loading === undefined) {
      loading = loadKey(url).finally(() => pending.delete(url))
      pending.set(url, loading)
    }
    return loading
  }

  async function loadKey(url: string): Promise<KeyObject> {
    let pem: string
    try {
      pem = await fetchCertificate(url, AbortSignal.timeout(timeoutMs))
    } catch (err) {
      options.logger.warn({ certificateUrl: url, error: describeError(err) }, 'SNS signing certificate could not be fetched')
      throw new SnsVerificationError('certificate_unavailable', 'The signing certificate could not be fetched.', { cause: err })
    }
    let key: KeyObject
    try {
      const cert = new X509Certificate(pem)
      const now = clock()
      if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) throw new Error(`certificate not valid now (${cert.validFrom} – ${cert.validTo})`)
      key = createPublicKey(pem)
    } catch (err) {
      throw new SnsVerificationError('certificate_unavailable', 'The signing certificate is not a usable X.509 certificate.', { cause: err })
    }
    keys.set(url, key)
    return key
  }

  const isAllowedSubscribeUrl = (raw: string): boolean => {
    const url = parseUrl(raw)
    return url !== undefined && (isSnsHttps(url) || trustedOrigins.has(url.origin))
  }

  return {
    isAllowedSubscribeUrl,
    async verify(input) {
      if (typeof input === 'object' && input !== null && !('Signature' in input && 'SignatureVersion' in input)) {
        throw new SnsVerificationError('unsigned', 'The message carries no Signature or SignatureVersion.')
      }
      const parsed = SnsMessage.safeParse(input)
      if (!parsed.success) {
        const versionBad = parsed.error.issues.some((i) => i.path[0] === 'SignatureVersion' || i.path[0] === 'Signature')
        throw new SnsVerificationError(versionBad ? 'unsigned' : 'malformed', `Not an SNS message: ${parsed.error.issues.map((i) => i.path.join('.') || i.message).join(', ')}.`)
      }
      const m = parsed.data
      // Refused before anything is fetched: a forged message must not make the gateway fetch a URL of its choosing.
      if (!trusted.has(m.SigningCertURL) && !isSnsCertificateUrl(m.SigningCertURL)) {
        throw new SnsVerificationError('untrusted_url', 'SigningCertURL is not an Amazon SNS certificate URL.')
      }
      if (m.Type !== 'Notification' && !isAllowedSubscribeUrl(m.SubscribeURL)) {
        throw new SnsVerificationError('untrusted_url', 'SubscribeURL is not an Amazon SNS URL.')
      }
      const age = clock() - Date.parse(m.Timestamp)
      if (age > MAX_MESSAGE_AGE_MS || age < -MAX_FUTURE_SKEW_MS) {
        throw new SnsVerificationError('stale', `The message Timestamp (${m.Timestamp}) is over an hour old, or ahead of this clock by over 5 minutes.`)
      }
      const key = await publicKey(m.SigningCertURL)
      const signature = Buffer.from(m.Signature, 'base64')
      const ok = verifySignature(SNS_SIGNATURE_ALGORITHMS[m.SignatureVersion], Buffer.from(snsStringToSign(m), 'utf8'), key, signature)
      if (!ok) throw new SnsVerificationError('bad_signature', 'The message signature does not match its content.')
      return m
    },
  }
}

/** GET with a size cap; the caller's signal is the deadline. */
async function fetchPem(url: string, signal: AbortSignal): Promise<string> {
  const res = await fetch(url, { signal, redirect: 'error' })
  if (!res.ok || res.body === null) throw new Error(`certificate fetch answered ${res.status}`)
  const declared = Number(res.headers.get('content-length') ?? '0')
  if (declared > CERT_MAX_BYTES) throw new Error(`certificate larger than ${CERT_MAX_BYTES} bytes`)
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.length
    if (size > CERT_MAX_BYTES) throw new Error(`certificate larger than ${CERT_MAX_BYTES} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

const CONFIRM_TIMEOUT_MS = 5000

/**
 * Confirms a subscription the way AWS documents it: a GET of the SubscribeURL (the route checks the
 * URL with the verifier first). A non-2xx answer or a deadline throws, so SNS's retry can try again.
 */
export async function confirmSnsSubscription(subscribeUrl: string, timeoutMs = CONFIRM_TIMEOUT_MS): Promise<void> {
  const res = await fetch(subscribeUrl, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' })
  // The body (a ConfirmSubscriptionResponse) is not needed; it is read so the connection can be reused.
  await res.arrayBuffer()
  if (!res.ok) throw new Error(`ConfirmSubscription answered ${res.status}`)
}
