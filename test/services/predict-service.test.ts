import { getEventListeners } from 'node:events'
import t from 'tap'
import { ModelNotReadyError } from '../../src/clients/sagemaker-inference-runtime.js'
import { createModelRegistry } from '../../src/services/model-registry.js'
import { createPredictService, type RealtimeModel } from '../../src/services/predict-service.js'
import { testModels } from '../helpers/app.js'
import { FakeRuntime } from '../helpers/fakes.js'

t.test('cold-start retries leave no abort listener behind on the request signal', async (t) => {
  const runtime = new FakeRuntime()
  // Thirty cold answers, then the model answers: more retries than Node's 10-listener warning.
  for (let i = 0; i < 30; i++) runtime.outcomes.push(new ModelNotReadyError(new Error('loading')))
  const predict = createPredictService({ runtime, models: createModelRegistry({ models: testModels }), random: () => 0 })
  const model = (await predict.realtimeModel('classify')) as RealtimeModel
  const controller = new AbortController()
  const warnings: Error[] = []
  const onWarning = (w: Error) => warnings.push(w)
  process.on('warning', onWarning)
  t.teardown(() => void process.off('warning', onWarning))
  const result = await predict.predict({
    model,
    body: Buffer.from('x'),
    contentType: 'text/plain',
    accept: undefined,
    customAttributes: undefined,
    mayUse: () => true,
    inferenceId: undefined,
    signal: controller.signal,
  })
  t.ok('body' in result)
  if ('body' in result) t.equal(Buffer.from(result.body).toString(), 'x')
  t.equal(runtime.realtimeCalls.length, 31)
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'every retry removed its listener')
  await new Promise((r) => setImmediate(r))
  t.same(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), [])
})
