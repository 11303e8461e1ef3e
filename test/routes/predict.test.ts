import { ModelError, ModelNotReadyException } from '@aws-sdk/client-sagemaker-runtime'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { translateInvokeError } from '../../src/clients/sagemaker-inference-runtime.js'
import { buildTestApp } from '../helpers/app.js'

const meta = { $metadata: {} }

t.test('the body, content type and accept pass through byte for byte', async (t) => {
  const { app, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  const triton = 'application/vnd.sagemaker-triton.binary+json;json-header-size=57'
  const body = randomBytes(777)
  const res = await app.inject({
    method: 'POST',
    url: '/models/classify/predict',
    headers: { 'content-type': triton, accept: triton, 'x-custom-attributes': 'a=1', 'x-inference-id': 'req-1' },
    payload: body,
  })
  t.equal(res.statusCode, 200)
  t.same(res.rawPayload, body)
  t.equal(res.headers['content-type'], triton)
  t.equal(res.headers['x-invoked-variant'], 'AllTraffic')
  t.equal(res.headers['x-inference-id'], 'req-1')
  t.match(runtime.realtimeCalls[0]!.request, { endpointName: 'mme-ep', targetModel: 'classify.tar.gz', contentType: triton, accept: triton, customAttributes: 'a=1', inferenceId: 'req-1' })
  t.equal(runtime.realtimeCalls[0]!.options.timeoutMs, 70_000)
})

t.test('over the limit: 413 before anything is sent, with a hint to use jobs', async (t) => {
  const { app, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/models/classify/predict', headers: { 'content-type': 'text/plain' }, payload: Buffer.alloc(1001) })
  t.equal(res.statusCode, 413)
  t.match(res.json().detail, /POST \/models\/text\/jobs/)
  t.equal(runtime.realtimeCalls.length, 0)
})

t.test('unknown model 404, async model 409, unaccepted type 415', async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  const post = (url: string, type = 'text/plain') => app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload: 'x' })
  t.equal((await post('/models/nope/predict')).statusCode, 404)
  t.equal((await post('/models/text/predict')).json().code, 'wrong_model_mode')
  t.equal((await post('/models/live/predict', 'image/png')).statusCode, 415)
})

const mappings: Array<[string, Error, number, string, Record<string, unknown>?]> = [
  ['model rejected the input', new ModelError({ ...meta, message: 'x', OriginalStatusCode: 400, OriginalMessage: 'invalid JSON' }), 422, 'model_rejected_input', { modelStatus: 400, modelMessage: 'invalid JSON' }],
  ['model failed', new ModelError({ ...meta, message: 'x', OriginalStatusCode: 500, OriginalMessage: 'boom' }), 502, 'model_error', { modelStatus: 500 }],
  ['model timed out', new ModelError({ ...meta, message: 'x', OriginalStatusCode: 0 }), 504, 'model_timeout'],
]
for (const [name, sdkError, status, code, details] of mappings) {
  t.test(`error mapping: ${name} → ${status}`, async (t) => {
    const { app, runtime } = await buildTestApp()
    t.teardown(() => app.close())
    runtime.outcomes.push(translateInvokeError(sdkError))
    const res = await app.inject({ method: 'POST', url: '/models/classify/predict', payload: 'x', headers: { 'content-type': 'text/plain' } })
    t.equal(res.statusCode, status)
    t.equal(res.json().code, code)
    if (details) t.match(res.json(), details)
    t.equal(runtime.realtimeCalls.length, 1, 'not retried')
  })
}

t.test('ModelNotReady is retried until the model is loaded', async (t) => {
  const { app, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  const notReady = () => translateInvokeError(new ModelNotReadyException({ ...meta, message: 'loading' }))
  runtime.outcomes.push(notReady(), notReady())
  const res = await app.inject({ method: 'POST', url: '/models/classify/predict', payload: 'hello', headers: { 'content-type': 'text/plain' } })
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'hello')
  t.equal(runtime.realtimeCalls.length, 3)
})

t.test('ModelNotReady past the cold-start deadline → 503 with Retry-After', async (t) => {
  const { app, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  for (let i = 0; i < 200; i++) runtime.outcomes.push(translateInvokeError(new ModelNotReadyException({ ...meta, message: 'loading' })))
  const res = await app.inject({ method: 'POST', url: '/models/classify/predict', payload: 'x', headers: { 'content-type': 'text/plain' } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'model_not_ready')
  t.ok(Number(res.headers['retry-after']) > 0)
  t.ok(runtime.realtimeCalls.length > 1, 'retried before giving up')
})

t.test('streaming forwards the chunks; a non-streaming model refuses ?stream=true', async (t) => {
  const { app, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  runtime.streamChunks = [Buffer.from('first sentence.\n'), Buffer.from('second sentence.\n')]
  const res = await app.inject({ method: 'POST', url: '/models/live/predict?stream=true', payload: 'text', headers: { 'content-type': 'text/plain' } })
  t.equal(res.statusCode, 200)
  t.equal(res.body, 'first sentence.\nsecond sentence.\n')
  t.equal(runtime.realtimeCalls[0]!.stream, true)
  const refused = await app.inject({ method: 'POST', url: '/models/classify/predict?stream=true', payload: 'x', headers: { 'content-type': 'text/plain' } })
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().code, 'streaming_not_supported')
})
