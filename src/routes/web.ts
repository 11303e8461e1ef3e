import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { join } from 'node:path'
import { appRoot } from '../lib/app-root.js'

/** Where the page's files are served from. */
export const WEB_ASSETS_PREFIX = '/assets/'

/**
 * The web page at `/` (src/web/index.html) and its scripts and styles under /assets/, plus
 * tus-js-client's browser build (/assets/tus.min.js) for the resumable uploads. Everything is public:
 * the page asks for the API key itself and sends it with the API calls it makes. The files are read
 * from the installation's src/web (whether the gateway runs from src/ or dist/src/), never compiled.
 * None of these routes is part of the API description.
 */
export function webRoutes(options: { webDir?: string; tusDir?: string } = {}) {
  const root = options.webDir ?? join(appRoot(), 'src', 'web')
  const tusDir = options.tusDir ?? join(appRoot(), 'node_modules', 'tus-js-client', 'dist')
  return async (app: FastifyInstance) => {
    // Every route of this (encapsulated) plugin is public, those @fastify/static declares included.
    app.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), public: true }
    })
    // Not fingerprinted file names: the browser revalidates each time (ETag / Last-Modified → 304).
    await app.register(fastifyStatic, {
      root,
      prefix: WEB_ASSETS_PREFIX,
      index: false,
      wildcard: true,
      cacheControl: false,
      // The page itself only at / (sendFile goes through this check too).
      allowedPath: (path, _root, request) => request.routeOptions.url === '/' || !path.endsWith('.html'),
      setHeaders: (res) => void res.setHeader('cache-control', 'no-cache'),
    })
    const page = { config: { public: true }, schema: { hide: true } }
    app.get('/', page, async (_request, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false }))
    app.get(`${WEB_ASSETS_PREFIX}tus.min.js`, page, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').sendFile('tus.min.js', tusDir, { cacheControl: false }),
    )
  }
}

