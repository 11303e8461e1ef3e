/**
 * Just enough DER (ITU-T X.690) to write one self-signed X.509 certificate (certificate.ts): Node can
 * make RSA keys and sign, but not build certificates, and the local stack takes no openssl CLI and no
 * extra package for this.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

export const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), length(content.length), content])

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00])
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'))
/** A constructed, context-specific, explicit tag: `[n] EXPLICIT`. */
export const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content)
/** BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]))

/** A non-negative INTEGER from big-endian bytes: minimal, with a 0 byte when the high bit is set. */
export function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  const trimmed = bytes.subarray(i)
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
}

export const smallInteger = (n: number): Buffer => unsignedInteger(Buffer.from([n]))

export function objectIdentifier(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number)
  const out: number[] = [40 * arcs[0]! + arcs[1]!]
  for (const arc of arcs.slice(2)) {
    const base128: number[] = []
    for (let v = arc; ; v = Math.floor(v / 128)) {
      base128.unshift((v & 0x7f) | (base128.length > 0 ? 0x80 : 0))
      if (v < 128) break
    }
    out.push(...base128)
  }
  return tlv(0x06, Buffer.from(out))
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, both in whole seconds UTC. */
export function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString() // 2026-11-29T11:07:06.123Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') // 20261129110706
  return Number(iso.slice(0, 4)) < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`))
}

/** PEM armour: base64 in 64-character lines (RFC 7468). */
export function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
