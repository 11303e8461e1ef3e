import { Lru } from './lru.js'

/**
 * A value loaded once for every caller that asks within `ttlMs` (a short freshness window), and a
 * single load shared by the callers that ask while it runs (single flight). A caller that leaves
 * (its signal) stops waiting; the shared load goes on for the others, bounded by its own deadline.
 * A failed load is not kept: the next caller loads again.
 */
export function createFreshCache<K, V>(o: { ttlMs: number; max: number; clock?: () => number }) {
  const now = o.clock ?? Date.now
  const values = new Lru<K, { value: V; at: number }>(o.max)
  const loading = new Map<K, Promise<V>>()

  function get(key: K, load: () => Promise<V>, signal?: AbortSignal): Promise<V> {
    const hit = values.get(key)
    if (hit !== undefined && now() - hit.at < o.ttlMs) return Promise.resolve(hit.value)
    let pending = loading.get(key)
    if (pending === undefined) {
      const started = now()
      pending = load().then(
        (value) => {
          loading.delete(key)
          values.set(key, { value, at: started })
          return value
        },
        (err: unknown) => {
          loading.delete(key)
          throw err
        },
      )
      loading.set(key, pending)
    }
    if (signal === undefined) return pending
    if (signal.aborted) return Promise.reject(signal.reason)
    const shared = pending
    return new Promise<V>((resolve, reject) => {
      const onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      shared.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /** The value if it is fresh, without loading. */
  function peek(key: K): V | undefined {
    const hit = values.get(key)
    return hit !== undefined && now() - hit.at < o.ttlMs ? hit.value : undefined
  }

  return { get, peek, forget: (key: K) => void values.delete(key) }
}
