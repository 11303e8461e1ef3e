import t from 'tap'
import { createEndpointRegistry } from '../../../src/local/runtime/registry.js'
import type { RuntimeEndpoint } from '../../../src/local/runtime/types.js'

const mme = (multiModel: Partial<NonNullable<RuntimeEndpoint['multiModel']>>, extra: Partial<RuntimeEndpoint> = {}): RuntimeEndpoint => ({
  name: 'mme',
  mode: 'realtime',
  containerUrl: 'http://127.0.0.1:1',
  multiModel: { modelDataUrl: 's3://bucket/models/', modelsDir: '/tmp/models', maxLoadedModels: 2, ...multiModel },
  ...extra,
})
const build = (e: RuntimeEndpoint) => () => createEndpointRegistry([e], '123456789012')

t.test('a valid multi-model endpoint is accepted', async (t) => {
  t.doesNotThrow(build(mme({})))
  t.doesNotThrow(build(mme({ modelDataUrl: 's3://bucket/' })))
})

t.test('bad multi-model configurations fail at start-up', async (t) => {
  t.throws(build(mme({ modelDataUrl: 'https://bucket/models/' })), /modelDataUrl must be s3:\/\/bucket\/prefix\//)
  t.throws(build(mme({ modelDataUrl: 's3://bucket' })), /modelDataUrl/)
  t.throws(build(mme({ modelsDir: '' })), /modelsDir is required/)
  t.throws(build(mme({ maxLoadedModels: 0 })), /maxLoadedModels must be a positive integer/)
  t.throws(build(mme({ notReadyAfterMs: -1 })), /notReadyAfterMs must be an integer/)
  t.throws(build(mme({ maxLoadMs: 2 ** 31 })), /maxLoadMs must be an integer/)
  t.throws(build(mme({}, { containerTimeoutMs: 0 })), /containerTimeoutMs must be an integer/)
})

t.test('multi-model endpoints are real-time only', async (t) => {
  const asyncMme = mme({}, { mode: 'async', async: { s3OutputPath: 's3://b/out', maxConcurrentInvocationsPerInstance: 1, instanceCount: 1 } })
  t.throws(build(asyncMme), /multi-model endpoints are real-time only/)
})
