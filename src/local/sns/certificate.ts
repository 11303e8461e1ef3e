import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bitString, explicit, nullValue, objectIdentifier, pem, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.js'

/**
 * The local SNS's signing certificate: an RSA key and a self-signed X.509 v3 certificate (RFC 5280),
 * kept in the runtime's state dir so a subscriber that cached it keeps verifying across restarts.
 */
export interface SigningCertificate {
  privateKey: KeyObject
  /** PEM, as served at the SigningCertURL. */
  certificatePem: string
}

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11'
const COMMON_NAME = '2.5.4.3'
const SUBJECT = 'sns.local.sagegate'
const VALID_DAYS = 3650
const DAY_MS = 24 * 60 * 60 * 1000
const KEY_FILE = 'signing-key.pem'
const CERT_FILE = 'signing-cert.pem'

export function createSigningCertificate(nowMs = Date.now()): SigningCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const algorithm = sequence(objectIdentifier(SHA256_WITH_RSA), nullValue())
  const name = sequence(set(sequence(objectIdentifier(COMMON_NAME), utf8String(SUBJECT))))
  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 16 random bytes, top bit cleared (no sign octet needed).
  const serial = randomBytes(16)
  serial[0] = serial[0]! & 0x7f
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    algorithm,
    name,
    // A day back, so a subscriber whose clock is a little behind still finds it valid.
    sequence(time(nowMs - DAY_MS), time(nowMs + VALID_DAYS * DAY_MS)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  )
  const der = sequence(tbs, algorithm, bitString(sign('sha256', tbs, privateKey)))
  const certificatePem = pem('CERTIFICATE', der)
  // Fails loudly here rather than in every subscriber if the encoding were ever wrong.
  if (!new X509Certificate(certificatePem).verify(publicKey)) throw new Error('local SNS certificate does not verify')
  return { privateKey, certificatePem }
}

/** The certificate in `dir`, or a new one written there (key readable by the owner only). */
export async function loadOrCreateSigningCertificate(dir: string | undefined, nowMs = Date.now()): Promise<SigningCertificate> {
  if (dir !== undefined) {
    try {
      const [keyPem, certificatePem] = await Promise.all([readFile(join(dir, KEY_FILE), 'utf8'), readFile(join(dir, CERT_FILE), 'utf8')])
      const cert = new X509Certificate(certificatePem)
      const privateKey = createPrivateKey(keyPem)
      if (cert.checkPrivateKey(privateKey) && Date.parse(cert.validTo) > nowMs + DAY_MS) return { privateKey, certificatePem }
    } catch {
      // none yet, or unreadable: make a new pair
    }
  }
  const created = createSigningCertificate(nowMs)
  if (dir !== undefined) {
    await mkdir(dir, { recursive: true })
    await writeAtomically(join(dir, KEY_FILE), created.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600)
    await writeAtomically(join(dir, CERT_FILE), created.certificatePem, 0o644)
  }
  return created
}

export async function writeAtomically(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, data, { mode })
  await rename(tmp, path)
}
