// One HTTP server per container, speaking the SageMaker container contract: a single-model container
// serves `GET /ping` and `POST /invocations`; a multi-model one serves `GET /ping` and the `/models`
// API (multi-model-routes.ts). Each has its own port so a real container can replace it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { sendJson } from './http-response.js'
import { handleInvocation, type InvocationOptions } from './invoke.js'
import type { LoadedModel } from './loaded-model.js'

/** `params` are the path's variable segments, percent-decoded, in order. */
export type Route = (request: IncomingMessage, response: ServerResponse, params: string[]) => Promise<void> | void

export interface RouteMatch {
  /** By HTTP method; a path that matches with another method is a 405 with Allow. */
  methods: Map<string, Route>
  params: string[]
}

/**
 * Resolves a request path (without the query). Returns undefined for no route (404); throws
 * URIError for a malformed percent-encoding (400).
 */
export type RouteTable = (path: string) => RouteMatch | undefined

export interface ContainerServerOptions {
  routes: RouteTable
  logger: Logger
}

export interface ContainerServer {
  readonly server: Server
  listen(port: number, host: string): Promise<AddressInfo>
  close(): Promise<void>
}

/** Fixed paths only. */
export function exactRoutes(table: Record<string, Record<string, Route>>): RouteTable {
  const routes = new Map(Object.entries(table).map(([path, methods]) => [path, new Map(Object.entries(methods))]))
  return (path) => {
    const methods = routes.get(path)
    return methods === undefined ? undefined : { methods, params: [] }
  }
}

/** A single-model container: `/ping` follows the model's state, `/invocations` runs it. */
export function createSingleModelRoutes(model: LoadedModel, options: InvocationOptions): RouteTable {
  const ping: Route = (_request, response) => {
    // SageMaker routes traffic only after /ping answers 200 (it polls for up to 4 minutes).
    if (model.state === 'ready') sendJson(response, 200, { status: 'healthy' })
    else sendJson(response, 503, { status: model.state, ...(model.error ? { error: model.error.message } : {}) })
  }
  return exactRoutes({
    '/ping': { GET: ping, HEAD: ping },
    '/invocations': { POST: (req, res) => handleInvocation(req, res, model, options) },
  })
}

function dispatch(routes: RouteTable, request: IncomingMessage, response: ServerResponse): Promise<void> | void {
  const path = (request.url ?? '/').split('?')[0] ?? '/'
  let match: RouteMatch | undefined
  try {
    match = routes(path)
  } catch (err) {
    if (!(err instanceof URIError)) throw err
    return sendJson(response, 400, { error: `malformed path ${path}` }, { close: true })
  }
  if (match === undefined) return sendJson(response, 404, { error: `no route ${path}` }, { close: true })
  const route = match.methods.get(request.method ?? '')
  if (route === undefined) {
    const allow = [...match.methods.keys()].join(', ')
    return sendJson(response, 405, { error: `${request.method} not allowed` }, { close: true, headers: { Allow: allow } })
  }
  return route(request, response, match.params)
}

export function createContainerServer(options: ContainerServerOptions): ContainerServer {
  const { logger, routes } = options
  const inFlight = new Set<Promise<void>>()

  // requestTimeout 0: a 1 GiB upload may take longer than Node's 300 s default; the invocation
  // timeout (which covers the upload) and the runtime in front bound the time instead.
  const server = createServer({ requestTimeout: 0 }, (request, response) => {
    const done = Promise.resolve()
      .then(() => dispatch(routes, request, response))
      .catch((err: unknown) => {
        logger.error({ err, url: request.url }, 'route failed')
        if (!response.headersSent && !response.destroyed) sendJson(response, 500, { error: 'internal error' }, { close: true })
        else response.destroy()
      })
    inFlight.add(done)
    void done.finally(() => inFlight.delete(done))
  })

  return {
    server,
    listen(port, host) {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve(server.address() as AddressInfo)
        })
      })
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Dropping the connections aborts running invocations (their ctx.signal), which then clean up.
      server.closeAllConnections()
      await Promise.allSettled([...inFlight])
      await closed
    },
  }
}
