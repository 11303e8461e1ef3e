// S3 additional checksums (x-amz-checksum-*): CRC32, CRC32C, CRC64NVME, SHA1, SHA256.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
// Values travel as base64 of the big-endian digest.
import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number]

export interface Checksum {
  update(data: Buffer): void
  digest(): Buffer
}

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 }

/** A checksum value S3 can compare at all: canonical base64 of a digest of the algorithm's size. */
export function isWellFormedChecksum(alg: ChecksumAlgorithm, base64: string): boolean {
  const bytes = Buffer.from(base64, 'base64')
  return bytes.length === DIGEST_BYTES[alg] && bytes.toString('base64') === base64
}

export function parseChecksumAlgorithm(value: string | undefined): ChecksumAlgorithm | undefined {
  const upper = value?.toUpperCase()
  return CHECKSUM_ALGORITHMS.find((a) => a === upper)
}

export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`
}

/** The name of the XML member / SDK field, e.g. `ChecksumCRC32`. */
export function checksumMemberName(alg: ChecksumAlgorithm): string {
  return `Checksum${alg}`
}

export function createChecksum(alg: ChecksumAlgorithm): Checksum {
  switch (alg) {
    case 'CRC32': {
      let crc = 0
      return { update: (d) => void (crc = crc32(d, crc)), digest: () => u32be(crc) }
    }
    case 'CRC32C': {
      let crc = 0
      return { update: (d) => void (crc = crc32c(d, crc)), digest: () => u32be(crc) }
    }
    case 'CRC64NVME': {
      const state = { lo: 0xffffffff, hi: 0xffffffff }
      return {
        update: (d) => crc64nvmeUpdate(state, d),
        digest: () => {
          const b = Buffer.alloc(8)
          b.writeUInt32BE((state.hi ^ 0xffffffff) >>> 0, 0)
          b.writeUInt32BE((state.lo ^ 0xffffffff) >>> 0, 4)
          return b
        },
      }
    }
    case 'SHA1':
    case 'SHA256': {
      const h = createHash(alg === 'SHA1' ? 'sha1' : 'sha256')
      return { update: (d) => void h.update(d), digest: () => h.digest() }
    }
  }
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0, 0)
  return b
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slicing-by-8 tables.
const CRC32C_TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256))
  const t0 = t[0] as Uint32Array
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    t0[n] = c >>> 0
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const prev = (t[k - 1] as Uint32Array)[n] as number
      ;(t[k] as Uint32Array)[n] = ((prev >>> 8) ^ (t0[prev & 0xff] as number)) >>> 0
    }
  }
  return t as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array]
})()

export function crc32c(data: Buffer, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLES
  let crc = ~previous >>> 0
  let i = 0
  const n = data.length
  for (; i + 8 <= n; i += 8) {
    const a = (crc ^ ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24))) >>> 0
    crc =
      (t7[a & 0xff] as number) ^
      (t6[(a >>> 8) & 0xff] as number) ^
      (t5[(a >>> 16) & 0xff] as number) ^
      (t4[a >>> 24] as number) ^
      (t3[data[i + 4] as number] as number) ^
      (t2[data[i + 5] as number] as number) ^
      (t1[data[i + 6] as number] as number) ^
      (t0[data[i + 7] as number] as number)
  }
  for (; i < n; i++) crc = (t0[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8)
  return ~crc >>> 0
}

// CRC64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones. The 64-bit state is
// kept as two uint32 halves so the table walk stays in small integers (no BigInt per byte).
const CRC64_TABLE = (() => {
  const lo = new Uint32Array(256)
  const hi = new Uint32Array(256)
  const polyLo = 0xac4bc9b5
  const polyHi = 0x9a6c9329
  for (let n = 0; n < 256; n++) {
    let l = n
    let h = 0
    for (let k = 0; k < 8; k++) {
      const lsb = l & 1
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0
      h = h >>> 1
      if (lsb) {
        l = (l ^ polyLo) >>> 0
        h = (h ^ polyHi) >>> 0
      }
    }
    lo[n] = l
    hi[n] = h
  }
  return { lo, hi }
})()

function crc64nvmeUpdate(state: { lo: number; hi: number }, data: Buffer): void {
  const { lo: tlo, hi: thi } = CRC64_TABLE
  let lo = state.lo
  let hi = state.hi
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ (data[i] as number)) & 0xff
    lo = (((lo >>> 8) | (hi << 24)) ^ (tlo[idx] as number)) >>> 0
    hi = ((hi >>> 8) ^ (thi[idx] as number)) >>> 0
  }
  state.lo = lo
  state.hi = hi
}

/**
 * Composite checksum of a multipart object: the checksum of the concatenated binary part checksums,
 * suffixed with `-<part count>`. CRC64NVME only supports full-object checksums, so it has none here.
 */
export function compositeChecksum(alg: ChecksumAlgorithm, partChecksumsBase64: string[]): string | undefined {
  if (alg === 'CRC64NVME') return undefined
  const c = createChecksum(alg)
  for (const p of partChecksumsBase64) c.update(Buffer.from(p, 'base64'))
  return `${c.digest().toString('base64')}-${partChecksumsBase64.length}`
}
