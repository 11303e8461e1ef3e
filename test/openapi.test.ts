import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { FakeRuntime, MemoryStore } from './helpers/fakes.js'
import pino from 'pino'
import { generateOpenapi, SPEC_PATH as specPath } from './tools/openapi.js'

t.test('the committed openapi.yaml is the one the routes generate (npm run openapi)', async (t) => {
  const committed = await readFile(specPath, 'utf8')
  const generated = await generateOpenapi()
  if (committed !== generated) {
    const a = committed.split('\n')
    const b = generated.split('\n')
    const line = a.findIndex((l, i) => l !== b[i])
    t.fail(`openapi.yaml is stale from line ${line + 1}: committed ${JSON.stringify(a[line])}, generated ${JSON.stringify(b[line])}; run npm run openapi`)
  } else t.pass('openapi.yaml is current')
})

/** Reads Fastify's route tree ("│   └── /:name (GET, HEAD)") back into "METHOD /path/{param}" lines. */
function routesOf(tree: string): Set<string> {
  const routes = new Set<string>()
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line)
    if (m === null) continue
    const depth = m[1]!.length / 4
    stack.length = depth
    stack.push(m[2]!)
    const path = stack.join('').replace(/:(\w+)/g, '{$1}')
    for (const method of (m[3] ?? '').split(', ').filter((x) => x !== '')) routes.add(`${method} ${path}`)
  }
  return routes
}

t.test("the app's routes and the spec's paths agree", async (t) => {
  const spec = parse(await readFile(specPath, 'utf8')) as { paths: Record<string, Record<string, unknown>> }
  const fromSpec = new Set<string>()
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of Object.keys(item)) if (method !== 'parameters') fromSpec.add(`${method.toUpperCase()} ${path}`)
    // Fastify answers HEAD for every GET by itself; the spec documents only HEADs of their own.
    if ('get' in item) fromSpec.add(`HEAD ${path}`)
  }
  const app = await buildApp(loadConfig({ SAGEGATE_BUCKET: 'test-bucket', SAGEGATE_ANONYMOUS: 'true' }), { store: new MemoryStore(), runtime: new FakeRuntime(), logger: pino({ level: 'silent' }) })
  t.teardown(() => app.close())
  await app.ready()
  // The pages' own routes (the web page and its assets, Swagger UI and its assets) are not part of the API.
  const fromApp = new Set([...routesOf(app.printRoutes({ commonPrefix: false }))].filter((r) => !/ (\/docs(\/|$)|\/assets\/|\/\*?$)/.test(r)))
  t.ok(fromApp.size > 5, 'routes were read')
  t.same([...fromApp].sort(), [...fromSpec].sort())
})

t.test('every problem code the code can produce is in the spec', async (t) => {
  const spec = parse(await readFile(specPath, 'utf8')) as { components: { schemas: { Problem: { properties: { code: { enum: string[] } } } } } }
  const codes = new Set(spec.components.schemas.Problem.properties.code.enum)
  const sources = ['../src/errors.ts', '../src/routes/error-handler.ts', '../src/services/job-service.ts', '../src/services/predict-service.ts', '../src/clients/sagemaker-inference-runtime.ts']
  for (const file of sources) {
    const text = await readFile(new URL(file, import.meta.url), 'utf8')
    for (const m of text.matchAll(/(?:AppError\(|\[)'([a-z_]+)'/g)) t.ok(codes.has(m[1]!), `${m[1]} (${file}) is documented`)
  }
})

t.test('every route needs a key unless the spec says it is public, and documents the 401', async (t) => {
  const spec = parse(await readFile(specPath, 'utf8')) as {
    security: unknown[]
    paths: Record<string, Record<string, { security?: unknown[]; responses?: Record<string, unknown> }>>
  }
  t.same(spec.security, [{ bearer: [] }, { apiKey: [] }])
  // SNS signs its own messages (routes/notifications.ts).
  const open = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/openapi.yaml', '/notifications/sns']
  // tus's capability discovery (OPTIONS) is open too.
  const openOp = (path: string, method: string) => open.includes(path) || (method === 'options' && path.startsWith('/uploads'))
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue
      if (openOp(path, method)) t.ok(op.security !== undefined && (op.security.length === 0 || op.security.some((s) => Object.keys(s as object).length === 0)), `${method} ${path} is open`)
      else t.ok(op.responses?.['401'] !== undefined && op.security === undefined, `${method} ${path} needs a key`)
    }
  }
})
