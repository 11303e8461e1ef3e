// One HTTP server per container, speaking the SageMaker bring-your-own-container contract:
// `GET /ping` and `POST /invocations`. Each has its own port so a real container can replace it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { sendJson } from './http-response.js'
import { handleInvocation, type InvocationOptions } from './invoke.js'
import type { LoadedModel } from './loaded-model.js'

export interface ContainerServerOptions extends InvocationOptions {
  model: LoadedModel
}

export interface ContainerServer {
  readonly server: Server
  listen(port: number, host: string): Promise<AddressInfo>
  close(): Promise<void>
}

type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void

/** Routes by method and path. The multi-model `/models` API will add its entries here. */
function createRoutes(options: ContainerServerOptions): Map<string, Map<string, Route>> {
  const { model } = options
  const ping: Route = (_request, response) => {
    // SageMaker routes traffic only after /ping answers 200 (it polls for up to 4 minutes).
    if (model.state === 'ready') sendJson(response, 200, { status: 'healthy' })
    else sendJson(response, 503, { status: model.state, ...(model.error ? { error: model.error.message } : {}) })
  }
  return new Map([
    ['/ping', new Map<string, Route>([['GET', ping], ['HEAD', ping]])],
    ['/invocations', new Map<string, Route>([['POST', (req, res) => handleInvocation(req, res, model, options)]])],
  ])
}

export function createContainerServer(options: ContainerServerOptions): ContainerServer {
  const logger: Logger = options.logger
  const routes = createRoutes(options)
  const inFlight = new Set<Promise<void>>()

  // requestTimeout 0: a 1 GiB upload may take longer than Node's 300 s default; the invocation
  // timeout (which covers the upload) and the runtime in front bound the time instead.
  const server = createServer({ requestTimeout: 0 }, (request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/'
    const byMethod = routes.get(path)
    const route = byMethod?.get(request.method ?? '')
    let done: Promise<void>
    if (!byMethod) {
      done = Promise.resolve(sendJson(response, 404, { error: `no route ${path}` }, { close: true }))
    } else if (!route) {
      const allow = [...byMethod.keys()].join(', ')
      done = Promise.resolve(
        sendJson(response, 405, { error: `${request.method} not allowed` }, { close: true, headers: { Allow: allow } }),
      )
    } else {
      done = Promise.resolve()
        .then(() => route(request, response))
        .catch((err: unknown) => {
          logger.error({ err, path }, 'route failed')
          if (!response.headersSent && !response.destroyed) sendJson(response, 500, { error: 'internal error' }, { close: true })
        })
    }
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
