import { createHash, timingSafeEqual } from 'node:crypto'
import type { ApiKeyConfig } from '../config.js'

/**
 * API keys → principals. Only SHA-256 hashes of the keys are configured; a presented key is hashed
 * and compared with every configured hash in constant time (no early exit, no map lookup keyed by
 * the secret), so neither the comparison nor the number of keys tried leaks which bytes matched.
 */

export interface Principal {
  /** The key's id (logs, metrics, rate-limit key); "anonymous" when the gateway runs open. */
  keyId: string
  /** Jobs belong to their tenant. */
  tenant: string
  /** Routable model names this principal may call; `undefined` means all. */
  models: ReadonlySet<string> | undefined
  requestsPerMinute?: number
  maxConcurrentUploads?: number
  anonymous: boolean
}

/** The tenant of every job made while the gateway runs open (and of records made before tenants existed). */
export const ANONYMOUS_TENANT = 'anonymous'

interface Entry {
  hash: Buffer
  principal: Principal
}

export function sha256(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

function entryOf(key: ApiKeyConfig): Entry {
  return {
    hash: Buffer.from(key.sha256, 'hex'),
    principal: {
      keyId: key.id,
      tenant: key.tenant,
      models: key.models.includes('*') ? undefined : new Set(key.models),
      ...(key.requestsPerMinute !== undefined ? { requestsPerMinute: key.requestsPerMinute } : {}),
      ...(key.maxConcurrentUploads !== undefined ? { maxConcurrentUploads: key.maxConcurrentUploads } : {}),
      anonymous: false,
    },
  }
}

export interface Keyring {
  /** True when keys are configured: every request outside the open routes needs one. */
  readonly closed: boolean
  readonly size: number
  /** The principal of a presented key, or undefined for an unknown one. */
  authenticate(presented: string): Principal | undefined
  /** Swaps the keys (rotation on SIGHUP); requests already authenticated keep their principal. */
  replace(keys: readonly ApiKeyConfig[]): void
}

export function createKeyring(keys: readonly ApiKeyConfig[]): Keyring {
  let entries = keys.map(entryOf)
  return {
    get closed() {
      return entries.length > 0
    },
    get size() {
      return entries.length
    },
    authenticate(presented) {
      const hash = sha256(presented)
      let found: Principal | undefined
      for (const entry of entries) {
        // Every entry is compared, whatever matched before.
        if (timingSafeEqual(hash, entry.hash) && found === undefined) found = entry.principal
      }
      return found
    },
    replace(next) {
      entries = next.map(entryOf)
    },
  }
}

/** Whether a principal may call the model of that name. */
export const mayUse = (principal: Principal, model: string): boolean => principal.models === undefined || principal.models.has(model)

/** The principal of every request while the gateway runs open (no keys configured). */
export function anonymousPrincipal(limits: { requestsPerMinute?: number; maxConcurrentUploads?: number }): Principal {
  return {
    keyId: 'anonymous',
    tenant: ANONYMOUS_TENANT,
    models: undefined,
    ...(limits.requestsPerMinute !== undefined ? { requestsPerMinute: limits.requestsPerMinute } : {}),
    ...(limits.maxConcurrentUploads !== undefined ? { maxConcurrentUploads: limits.maxConcurrentUploads } : {}),
    anonymous: true,
  }
}
