import { createHash } from 'node:crypto'
import type { Config } from '../../src/config.js'

/** Real keys of two tenants, as a client would send them; only their hashes go into the configuration. */
export const KEYS = {
  /** acme's web client: every model. */
  acmeWeb: 'sg_acme_web_4f0c1d2e9b8a7c6d5e4f3a2b1c0d9e8f',
  /** acme's batch client: the summarize model only. */
  acmeBatch: 'sg_acme_batch_0a1b2c3d4e5f60718293a4b5c6d7e8f9',
  /** globex: every model, another tenant. */
  globex: 'sg_globex_9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
} as const

export const sha256Hex = (key: string) => createHash('sha256').update(key).digest('hex')

export type KeyOverrides = Partial<Record<keyof typeof KEYS, { requestsPerMinute?: number; maxConcurrentUploads?: number }>>

/** A configure hook for startTestStack: the three keys above, with optional per-key limits. */
export function withKeys(overrides: KeyOverrides = {}, more: Partial<Config> = {}) {
  return (config: Config): Config => ({
    ...config,
    ...more,
    auth: {
      ...config.auth,
      keys: [
        { id: 'acme-web', tenant: 'acme', sha256: sha256Hex(KEYS.acmeWeb), models: ['*'], ...overrides.acmeWeb },
        { id: 'acme-batch', tenant: 'acme', sha256: sha256Hex(KEYS.acmeBatch), models: ['summarize'], ...overrides.acmeBatch },
        { id: 'globex', tenant: 'globex', sha256: sha256Hex(KEYS.globex), models: ['*'], ...overrides.globex },
      ],
    },
  })
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
