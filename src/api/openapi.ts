import swagger, { type SwaggerTransform } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema, FastifySerializerCompiler } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler as zodSerializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import { stringify } from 'yaml'
import { z } from 'zod'
import { $ZodType } from 'zod/v4/core'

/**
 * The API description is generated from the routes' own schemas (api/schemas.ts, routes/*.ts) by
 * @fastify/swagger: served at /openapi.json and /openapi.yaml, browsable at /docs (Swagger UI, its
 * assets from the npm package), and committed as openapi.yaml (`npm run openapi`; a test fails when
 * the committed file differs from what the routes say).
 */

export const DOCS_PREFIX = '/docs'

const DESCRIPTION = `HTTP gateway in front of Amazon SageMaker. Clients upload large inputs (videos, long texts) as
asynchronous jobs and follow them to their result, or call real-time models directly; clients never
see buckets, keys or endpoints.

Every error is an RFC 9457 \`application/problem+json\` document (the \`Problem\` schema) with a stable
\`code\` and the request id (also returned in the \`X-Request-Id\` header on every response). A client may
send its own \`X-Request-Id\`: it is kept when it is one header of 1–128 characters of \`[A-Za-z0-9._:-]\`,
and replaced by a fresh UUID otherwise.

Every route except health, readiness, metrics and this description needs an API key
(\`Authorization: Bearer <key>\` or \`X-Api-Key: <key>\`) when the gateway has keys configured: 401
\`unauthorized\` (with \`WWW-Authenticate: Bearer\`) without a valid one, 403 \`model_not_allowed\` for a
model outside the key's list. Jobs belong to the key's tenant: to any other tenant they are 404
\`job_not_found\`, exactly like a job that does not exist. Model calls and job routes count against the
key's requests per minute (429 \`rate_limited\` with \`Retry-After\` and \`RateLimit-Limit\`,
\`RateLimit-Remaining\`, \`RateLimit-Reset\`), uploads against its uploads at once (429
\`too_many_uploads\`). A saturated gateway sheds requests with 503 \`overloaded\` and \`Retry-After\`.

A path parameter that cannot name anything (a model name or job id of the wrong shape) is answered
like an unknown one: 404 \`model_not_found\` or \`job_not_found\`. Other request values that do not
match this description are 400 \`bad_request\`.`

type Responses = Record<string, unknown>

interface OpenApiRouteSchema extends FastifySchema {
  response?: Responses
  requestBody?: { description?: string; content: Record<string, { schema: unknown }> }
}

const isZod = (s: unknown): s is $ZodType => s instanceof $ZodType
/** A response documented without a body (`type: 'null'`): HEAD answers, 304. */
const isNoBody = (r: unknown) => typeof r === 'object' && r !== null && !isZod(r) && !('content' in r)

/**
 * fastify-type-provider-zod's transform turns the zod schemas into JSON Schema; this one adds what
 * it leaves out: response headers, responses without a body, and request bodies that the route
 * reads itself as streams (declared under `requestBody`, so that Fastify never validates them).
 */
const transform: SwaggerTransform = (document) => {
  const schema = document.schema as OpenApiRouteSchema | undefined
  if (schema === undefined || schema.hide === true) return jsonSchemaTransform(document)
  const { response = {}, requestBody, ...rest } = schema
  const withBody: Responses = {}
  const noBody: Responses = {}
  for (const [code, r] of Object.entries(response)) (isNoBody(r) ? noBody : withBody)[code] = r
  const out = jsonSchemaTransform({ ...document, schema: { ...rest, response: withBody } as FastifySchema })
  const transformed = out.schema as { response: Responses; body?: unknown }
  for (const [code, r] of Object.entries(withBody)) {
    const headers = (r as { headers?: unknown }).headers
    if (headers !== undefined) transformed.response[code] = { ...(transformed.response[code] as object), headers }
  }
  // Status codes in order, `default` last.
  const all = { ...transformed.response, ...noBody }
  transformed.response = Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a === 'default' ? 1 : b === 'default' ? -1 : a.localeCompare(b))))
  if (requestBody !== undefined) {
    // @fastify/swagger takes a body with `content` as it is (media type → schema).
    transformed.body = {
      ...(requestBody.description !== undefined ? { description: requestBody.description } : {}),
      content: Object.fromEntries(Object.entries(requestBody.content).map(([type, { schema: s }]) => [type, { schema: isZod(s) ? toJson(s) : s }])),
    }
  }
  return out
}

/** Hard-wrapped paragraphs in the source become one line each: the description's text is not laid out. */
const unwrap = (text: string) => text.replace(/(?<!\n)\n(?!\n)/g, ' ')

/**
 * The generated document, tidied: descriptions unwrapped, zod's ±(2^53 − 1) bounds of every integer
 * dropped (they say nothing), and the components that nothing refers to (zod registers an input and
 * an output variant of each named schema; the routes use the output ones) left out.
 */
function tidy(doc: Record<string, unknown>): Record<string, unknown> {
  const walk = (node: unknown, key?: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n))
    if (typeof node === 'string') return key === 'description' ? unwrap(node) : node
    if (typeof node !== 'object' || node === null) return node
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'minimum' || k === 'maximum') && Math.abs(v as number) === Number.MAX_SAFE_INTEGER) continue
      out[k] = walk(v, k)
    }
    return out
  }
  const tidied = walk(doc) as { components?: { schemas?: Record<string, unknown> } }
  const schemas = tidied.components?.schemas
  if (schemas !== undefined) {
    const text = JSON.stringify({ ...tidied, components: { ...tidied.components, schemas: {} } })
    const used = new Set<string>()
    const visit = (json: string) => {
      for (const m of json.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
        if (used.has(m[1]!)) continue
        used.add(m[1]!)
        visit(JSON.stringify(schemas[m[1]!] ?? {}))
      }
    }
    visit(text)
    for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name]
  }
  return tidied as Record<string, unknown>
}

/** The description as YAML, one line per paragraph (served at /openapi.yaml and committed as openapi.yaml). */
export const specYaml = (app: FastifyInstance): string => stringify(app.swagger(), { lineWidth: 0 })

/** A zod schema as the JSON Schema the transform would make of it (through a throwaway route). */
function toJson(s: $ZodType): unknown {
  const out = jsonSchemaTransform({ schema: { response: { 200: s } }, url: '/', openapiObject: { openapi: '3.1.0' } } as unknown as Parameters<SwaggerTransform>[0])
  return (out.schema as { response: Record<string, unknown> }).response['200']
}

/**
 * zod's serializer for zod schemas (every JSON answer checked against its declared schema, problem
 * documents included); responses declared without a body have nothing to serialize.
 */
export const serializerCompiler: FastifySerializerCompiler<unknown> = (route) =>
  isZod(route.schema) || (typeof route.schema === 'object' && route.schema !== null && 'properties' in route.schema && isZod(route.schema.properties))
    ? zodSerializerCompiler(route as Parameters<typeof zodSerializerCompiler>[0])
    : (data: unknown) => JSON.stringify(data)

export async function registerApiDocs(app: FastifyInstance, version: string): Promise<void> {
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'sagegate', version, description: DESCRIPTION },
      tags: [
        { name: 'models', description: 'What can be called' },
        { name: 'jobs', description: 'Asynchronous inference: uploads, status and results' },
        { name: 'predict', description: 'Real-time inference' },
        { name: 'health', description: 'Probes and metrics' },
        { name: 'docs', description: 'This description' },
      ],
      security: [{ bearer: [] }, { apiKey: [] }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: "An API key. The gateway stores only its SHA-256; logs and metrics name the key's id." },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'The same API key, for clients that cannot set Authorization.' },
        },
      },
    },
    transform,
    transformObject: (document) => tidy(jsonSchemaTransformObject(document) as Record<string, unknown>),
  })
  // The description and its page are open to everyone (routes/access.ts reads `public`).
  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) route.config = { ...(route.config ?? {}), public: true }
  })
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    // Nothing from outside the gateway: no online validator badge.
    uiConfig: { validatorUrl: null, deepLinking: true, tryItOutEnabled: true, persistAuthorization: false },
  })
}

/** The description itself, as JSON and as YAML (the same document as the committed openapi.yaml). */
export function registerSpecRoutes(app: FastifyInstance): void {
  let json: string | undefined
  let yamlText: string | undefined
  const doc = (description: string, type: string) => ({
    tags: ['docs'],
    summary: description,
    security: [],
    response: { 200: { description, content: { [type]: { schema: z.string() } } } },
  })
  app.get('/openapi.json', { config: { public: true }, schema: { ...doc('This API description (OpenAPI 3.1) as JSON', 'application/json'), operationId: 'openapiJson' } }, async (_request, reply) => {
    json ??= JSON.stringify(app.swagger())
    return reply.type('application/json; charset=utf-8').send(json)
  })
  app.get('/openapi.yaml', { config: { public: true }, schema: { ...doc('This API description (OpenAPI 3.1) as YAML', 'application/yaml'), operationId: 'openapiYaml' } }, async (_request, reply) => {
    yamlText ??= specYaml(app)
    return reply.type('application/yaml; charset=utf-8').send(yamlText)
  })
}
