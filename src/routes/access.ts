import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { errors } from '../errors.js'
import { mayUse, type Keyring, type Principal } from '../services/keyring.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set for every route that is not public (routes/access.ts). */
    principal: Principal
  }
  interface FastifyContextConfig {
    /** Answered without an API key (health, readiness, the API description). */
    public?: boolean
  }
}

export interface AccessOptions {
  keyring: Keyring
  /** The principal of every request while no keys are configured. */
  anonymous: Principal
  /** A refused request, by reason (sagegate_auth_failures_total). */
  onDenied?: (reason: 'missing_key' | 'invalid_key' | 'model_not_allowed') => void
}

const BEARER = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i

/** The key a request presents: `Authorization: Bearer <key>`, else `X-Api-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined | null {
  const authorization = request.headers.authorization
  if (authorization !== undefined) return BEARER.exec(authorization)?.[1] ?? null
  const apiKey = request.headers['x-api-key']
  // A duplicated header is not a key.
  if (apiKey === undefined) return undefined
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : null
}

/**
 * Every request outside the public routes needs a valid key when keys are configured (401
 * otherwise, with the RFC 6750 challenge), and a route that names a model needs a key allowed to
 * use it (403). Runs first among the request hooks, before any byte of a body is read.
 */
export function registerAccess(app: FastifyInstance, options: AccessOptions): void {
  const { keyring, anonymous } = options
  app.decorateRequest('principal', null as unknown as Principal)
  // A callback hook (it waits on nothing): no promise per request; a refusal is passed to `done`.
  app.addHook('onRequest', (request, reply, done) => {
    let refusal: Error | undefined
    try {
      check(request, reply)
    } catch (err) {
      refusal = err as Error
    }
    done(refusal)
  })
  function check(request: FastifyRequest, reply: FastifyReply): void {
    // Public routes, and paths that match no route (a 404 tells nothing about jobs or models).
    if (request.routeOptions.config.public === true || request.routeOptions.url === undefined) return
    let principal = anonymous
    if (keyring.closed) {
      const key = presentedKey(request)
      if (key === undefined || key === null) {
        options.onDenied?.(key === undefined ? 'missing_key' : 'invalid_key')
        throw errors.unauthorized(key === null)
      }
      const found = keyring.authenticate(key)
      if (found === undefined) {
        options.onDenied?.('invalid_key')
        throw errors.unauthorized(true)
      }
      principal = found
      // Every later line of this request (the completion line included) names the key's id.
      request.log = request.log.child({ keyId: principal.keyId })
      reply.log = request.log
    }
    request.principal = principal
    // Every route with a :name parameter names a model (/models/:name, /models/:name/jobs, ...).
    const name = (request.params as { name?: unknown } | undefined)?.name
    if (typeof name === 'string' && !mayUse(principal, name)) {
      options.onDenied?.('model_not_allowed')
      throw errors.modelNotAllowed(name)
    }
  }
}

const RATE_WINDOW_MS = 60_000

/** Whom a per-client limit counts: the key by its id (never the key), an anonymous client by address. */
const clientOf = (request: FastifyRequest): string =>
  request.principal === null || request.principal.anonymous ? `ip:${request.ip}` : `key:${request.principal.keyId}`

/**
 * Per-client request limits (@fastify/rate-limit): a key's `requestsPerMinute`, or per client IP
 * for anonymous clients when `auth.anonymousRequestsPerMinute` is set. Counted in this replica's
 * memory, in a fixed one-minute window per client; nothing configured means no limit. The returned
 * hook goes on the model-call and job routes; the answer carries the IETF RateLimit-* headers.
 */
export async function createRequestLimit(app: FastifyInstance, onLimited?: (keyId: string) => void): Promise<onRequestAsyncHookHandler> {
  // The header names are the plugin's (IETF draft RateLimit-*), set at registration only.
  await app.register(rateLimit, { global: false, enableDraftSpec: true })
  return app.rateLimit({
    timeWindow: RATE_WINDOW_MS,
    keyGenerator: clientOf,
    // Public routes (tus's capability discovery among the limited ones) carry no principal: not counted.
    allowList: (request) => request.principal === null || request.principal.requestsPerMinute === undefined,
    max: (request) => request.principal.requestsPerMinute ?? Number.MAX_SAFE_INTEGER,
    errorResponseBuilder: (request, context) => {
      onLimited?.(request.principal.keyId)
      return errors.rateLimited(Math.max(1, Math.ceil(context.ttl / 1000)), context.max)
    },
  }) as onRequestAsyncHookHandler
}

/** Uploads in progress per client: a key's `maxConcurrentUploads` (anonymous clients: per IP). */
export function createClientUploads() {
  const counts = new Map<string, number>()
  return {
    /** Takes a slot (429 too_many_uploads past the client's cap); the returned function gives it back. */
    acquire(request: FastifyRequest): () => void {
      const max = request.principal.maxConcurrentUploads
      if (max === undefined) return () => {}
      const key = clientOf(request)
      const n = counts.get(key) ?? 0
      if (n >= max) throw errors.tooManyClientUploads(max, key.startsWith('ip:') ? 'client address' : 'API key')
      counts.set(key, n + 1)
      let released = false
      return () => {
        if (released) return
        released = true
        const left = (counts.get(key) ?? 1) - 1
        if (left <= 0) counts.delete(key)
        else counts.set(key, left)
      }
    },
  }
}

export type ClientUploads = ReturnType<typeof createClientUploads>
