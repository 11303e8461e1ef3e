import { readFile } from 'node:fs/promises'
import t from 'tap'
import { parse } from 'yaml'
import { z } from 'zod'
import { serializerCompiler } from '../../src/api/openapi.js'
import { Problem } from '../../src/api/schemas.js'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'
import { buildTestApp } from '../helpers/app.js'
import { SPEC_PATH } from '../tools/openapi.js'

t.test('the description and its page are served, open to everyone even when keys are configured', async (t) => {
  const { app } = await buildTestApp({ configure: withKeys() })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/models' })).statusCode, 401, 'the API itself needs a key')

  const json = await app.inject({ url: '/openapi.json' })
  t.equal(json.statusCode, 200)
  t.match(json.headers['content-type'], /^application\/json/)
  const spec = json.json() as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }
  t.equal(spec.openapi, '3.1.0')
  t.ok(spec.paths['/models/{name}/jobs'] !== undefined && spec.components.schemas.Problem !== undefined)

  const yaml = await app.inject({ url: '/openapi.yaml' })
  t.equal(yaml.statusCode, 200)
  t.match(yaml.headers['content-type'], /^application\/yaml/)
  t.same(parse(yaml.body), spec, 'the YAML and the JSON are the same document')
  t.same(parse(await readFile(SPEC_PATH, 'utf8')).paths, spec.paths, 'and the committed openapi.yaml describes the same paths')

  const page = await app.inject({ url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /swagger-ui-bundle\.js/)
  t.notMatch(page.body, /https?:\/\//, 'nothing loaded from elsewhere')
  t.match(page.headers['content-security-policy'], /default-src 'self'/, "helmet's headers on the page")
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.equal(page.headers['x-frame-options'], 'SAMEORIGIN')
  const bundle = await app.inject({ url: '/docs/static/swagger-ui-bundle.js' })
  t.equal(bundle.statusCode, 200, 'its assets come from the npm package')
  t.match(bundle.headers['content-type'], /javascript/)
  const init = await app.inject({ url: '/docs/static/swagger-initializer.js' })
  t.match(init.body, /validatorUrl":\s*null|validatorUrl: null/, 'no online validator')
})

t.test('path parameters that cannot name anything are the unknown resource (404); other bad values are 400 bad_request', async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  const job = await app.inject({ url: '/jobs/not-a-job-id' })
  t.equal(job.statusCode, 404)
  t.match(job.json(), { code: 'job_not_found', status: 404 })
  const model = await app.inject({ method: 'POST', url: '/models/Not_A_Name/predict', payload: 'x', headers: { 'content-type': 'text/plain' } })
  t.equal(model.statusCode, 404)
  t.match(model.json(), { code: 'model_not_found' })
  const result = await app.inject({ method: 'HEAD', url: '/jobs/short/result' })
  t.equal(result.statusCode, 404)
  const stream = await app.inject({ method: 'POST', url: '/models/live/predict?stream=maybe', payload: 'x', headers: { 'content-type': 'text/plain' } })
  t.equal(stream.statusCode, 400)
  t.match(stream.json(), { code: 'bad_request', detail: /stream/ })
  t.match(stream.headers['content-type'], /^application\/problem\+json/)
})

t.test('problem documents are checked against the Problem schema as they are sent', async (t) => {
  const serialize = serializerCompiler({ schema: Problem, method: 'GET', url: '/x', httpStatus: '404' })
  const good = { type: 'urn:sagegate:problem:job_not_found', title: 'Not Found', status: 404, code: 'job_not_found', detail: 'No such job.', requestId: 'r', extra: 1 }
  t.same(JSON.parse(serialize(good)), good, 'extension members pass through')
  t.throws(() => serialize({ ...good, code: 'no_such_code' }), 'a code outside the vocabulary fails')
  t.throws(() => serialize({ ...good, status: 'in_progress' }), 'status must be the HTTP status')
  const plain = serializerCompiler({ schema: { type: 'null', description: 'no body' }, method: 'HEAD', url: '/x', httpStatus: '304' })
  t.equal(plain({ a: 1 }), '{"a":1}', 'declared-without-body responses have nothing to check')
  t.ok(z.toJSONSchema(Problem), 'the schema converts to JSON Schema')

  // Unrouted answers (no route, no schema) go through the schema too.
  const { app } = await buildTestApp({ configure: withKeys() })
  t.teardown(() => app.close())
  const none = await app.inject({ url: '/nowhere', headers: bearer(KEYS.acmeWeb) })
  t.equal(none.statusCode, 404)
  t.same(Object.keys(Problem.parse(none.json())).sort(), ['code', 'detail', 'instance', 'requestId', 'status', 'title', 'type'])
})
