import type { z } from 'zod'
import { Binary, Problem } from './schemas.js'

/**
 * Response declarations for the routes' schemas: Fastify serializes (and so checks) JSON bodies with
 * them by status and content type, and @fastify/swagger documents them, headers included.
 */

interface HeaderDoc {
  type: 'string' | 'integer'
  description?: string
  const?: string
  example?: string
}
type Headers = Record<string, HeaderDoc>

export const json = <T extends z.ZodType>(schema: T, description: string, headers?: Headers) => ({
  description,
  ...(headers !== undefined ? { headers } : {}),
  content: { 'application/json': { schema } },
})

/** Bytes with the model's own content type: sent as they are, never serialized. */
export const bytes = (description: string, headers?: Headers) => ({
  description,
  ...(headers !== undefined ? { headers } : {}),
  content: { '*/*': { schema: Binary } },
})

/** A response without a body (HEAD, 304). */
export const noBody = (description: string, headers?: Headers) => ({ type: 'null' as const, description, ...(headers !== undefined ? { headers } : {}) })

export const problem = (description: string, headers?: Headers) => ({
  description,
  ...(headers !== undefined ? { headers } : {}),
  content: { 'application/problem+json': { schema: Problem } },
})

export const RETRY_AFTER: Headers = { 'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying.' } }

/** What every route that needs a key may answer besides its own outcomes. */
export const keyedProblems = {
  401: problem('No API key, or one the gateway does not know (`unauthorized`)', {
    'WWW-Authenticate': { type: 'string', description: '`Bearer realm="sagegate"`, with `error="invalid_token"` when a key was sent.' },
  }),
  503: problem(
    'A temporary failure; retry after the given delay: the gateway is overloaded (`overloaded`) or shutting down (`shutting_down`), or a dependency is unavailable (`upstream_unavailable`)',
    RETRY_AFTER,
  ),
  default: problem('Any other error, e.g. 500 `internal_error` (its message is logged, never sent)'),
}

/** Model calls and job routes: counted against the key's requests per minute. */
export const limitedProblems = {
  ...keyedProblems,
  429: problem("Over the API key's requests per minute (`rate_limited`) or uploads at once (`too_many_uploads`)", {
    ...RETRY_AFTER,
    'RateLimit-Limit': { type: 'integer', description: 'Requests per minute allowed to this key (IETF RateLimit headers draft).' },
    'RateLimit-Remaining': { type: 'integer' },
    'RateLimit-Reset': { type: 'integer', description: 'Seconds until the window resets.' },
  }),
}

export const publicProblems = {
  default: problem('Any other error'),
}
