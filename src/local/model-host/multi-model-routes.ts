// The multi-model container contract (sagemaker-notes, "Multi-model endpoints"): `POST /models` load,
// `GET /models` list, `GET /models/{name}`, `DELETE /models/{name}`, `POST /models/{name}/invoke`,
// and `GET /ping`, healthy with no models at all (models come and go while the container runs).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { Route, RouteTable } from './container-server.js'
import { sendJson } from './http-response.js'
import { handleInvocation, type InvocationOptions } from './invoke.js'
import { type ModelRegistry, ModelRequestError } from './model-registry.js'

/** A load request is `{"model_name", "url"}`; more than this is not one. */
export const MAX_LOAD_REQUEST_BYTES = 64 * 1024
export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000
/** Like TargetModel (1–1024 characters): the runtime derives model_name from it. */
const MAX_MODEL_NAME_CHARS = 1024
const CONTROL_CHARS = /\p{Cc}/u

export interface MultiModelRoutesOptions extends InvocationOptions {
  registry: ModelRegistry
  logger: Logger
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? 0)
  if (declared > MAX_LOAD_REQUEST_BYTES) throw new ModelRequestError(413, `a load request is at most ${MAX_LOAD_REQUEST_BYTES} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_LOAD_REQUEST_BYTES) throw new ModelRequestError(413, `a load request is at most ${MAX_LOAD_REQUEST_BYTES} bytes`)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch (err) {
    throw new ModelRequestError(400, `the load request is not valid JSON: ${(err as Error).message}`)
  }
}

function parseLoadRequest(value: unknown): { name: string; url: string } {
  const shape = '{"model_name": "<id>", "url": "<model directory>"}'
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelRequestError(400, `the load request must be a JSON object ${shape}`)
  }
  const { model_name: name, url } = value as { model_name?: unknown; url?: unknown }
  if (typeof name !== 'string' || name === '' || name.length > MAX_MODEL_NAME_CHARS || CONTROL_CHARS.test(name)) {
    throw new ModelRequestError(400, `"model_name" must be 1 to ${MAX_MODEL_NAME_CHARS} printable characters: ${shape}`)
  }
  if (typeof url !== 'string' || url === '') throw new ModelRequestError(400, `"url" must be the model's directory: ${shape}`)
  return { name, url }
}

/** Page tokens are the last name of the previous page: stable while models are loaded and unloaded. */
const encodeToken = (name: string): string => Buffer.from(name, 'utf8').toString('base64url')

function decodeToken(token: string): string {
  const name = Buffer.from(token, 'base64url').toString('utf8')
  if (token === '' || encodeToken(name) !== token) throw new ModelRequestError(400, `invalid next_page_token ${JSON.stringify(token)}`)
  return name
}

function parsePageSize(value: string | null): number {
  if (value === null) return DEFAULT_PAGE_SIZE
  const size = /^\d{1,7}$/.test(value) ? Number(value) : Number.NaN
  if (!(size >= 1 && size <= MAX_PAGE_SIZE)) throw new ModelRequestError(400, `page_size must be an integer from 1 to ${MAX_PAGE_SIZE}`)
  return size
}

function sendRequestError(response: ServerResponse, err: unknown, request: IncomingMessage): void {
  if (!(err instanceof ModelRequestError)) throw err
  sendJson(response, err.statusCode, { error: err.message }, { close: !request.complete })
}

export function createMultiModelRoutes(options: MultiModelRoutesOptions): RouteTable {
  const { registry, logger } = options

  const ping: Route = (_request, response) => sendJson(response, 200, { status: 'healthy' })

  const load: Route = async (request, response) => {
    // The caller going away (the runtime's load deadline) must not leave a model nobody knows of.
    const controller = new AbortController()
    response.once('close', () => {
      if (!response.writableFinished) controller.abort(new Error('the load request was abandoned'))
    })
    try {
      const { name, url } = parseLoadRequest(await readJsonBody(request))
      await registry.load(name, url, controller.signal)
      sendJson(response, 200, { status: 'loaded' })
    } catch (err) {
      if (controller.signal.aborted) return void logger.info({ err }, 'load abandoned by its caller')
      if (err instanceof ModelRequestError && err.statusCode >= 500) logger.warn({ err }, 'model load failed')
      sendRequestError(response, err, request)
    }
  }

  const list: Route = (request, response) => {
    try {
      const query = new URL(request.url ?? '/', 'http://container').searchParams
      const pageSize = parsePageSize(query.get('page_size'))
      const token = query.get('next_page_token')
      const after = token === null ? undefined : decodeToken(token)
      const models = registry.list().filter((m) => after === undefined || m.modelName > after)
      const page = models.slice(0, pageSize).map(({ modelName, modelUrl }) => ({ modelName, modelUrl }))
      const last = page.at(-1)
      sendJson(response, 200, { models: page, ...(models.length > pageSize && last ? { nextPageToken: encodeToken(last.modelName) } : {}) })
    } catch (err) {
      sendRequestError(response, err, request)
    }
  }

  const describe: Route = (_request, response, [name]) => {
    const model = registry.describe(name!)
    if (model === undefined) sendJson(response, 404, { error: `model ${name} is not loaded` })
    else sendJson(response, 200, model)
  }

  const unload: Route = async (request, response, [name]) => {
    if (await registry.unload(name!)) sendJson(response, 200, { status: 'unloaded' }, { close: !request.complete })
    else sendJson(response, 404, { error: `model ${name} is not loaded` }, { close: !request.complete })
  }

  const invoke: Route = async (request, response, [name]) => {
    const lease = registry.acquire(name!)
    // The body was not read: close rather than parse its rest as the next request.
    if (lease === undefined) return sendJson(response, 404, { error: 'model not loaded' }, { close: true })
    try {
      await handleInvocation(request, response, lease.model, options)
    } finally {
      lease.release()
    }
  }

  const routes = {
    ping: new Map<string, Route>([['GET', ping], ['HEAD', ping]]),
    models: new Map<string, Route>([['GET', list], ['POST', load]]),
    model: new Map<string, Route>([['GET', describe], ['DELETE', unload]]),
    invoke: new Map<string, Route>([['POST', invoke]]),
  }
  return (path) => {
    if (path === '/ping') return { methods: routes.ping, params: [] }
    // model_name is opaque: the runtime percent-encodes it into one path segment.
    const [empty, models, encoded, action, ...rest] = path.split('/')
    if (empty !== '' || models !== 'models' || rest.length > 0) return undefined
    if (encoded === undefined) return { methods: routes.models, params: [] }
    if (encoded === '') return action === undefined ? { methods: routes.models, params: [] } : undefined
    const name = decodeURIComponent(encoded)
    if (action === undefined) return { methods: routes.model, params: [name] }
    if (action === 'invoke') return { methods: routes.invoke, params: [name] }
    return undefined
  }
}
