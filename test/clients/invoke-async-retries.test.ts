import { InternalFailure, ServiceUnavailable, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { createSageMakerInferenceRuntime } from '../../src/clients/sagemaker-inference-runtime.js'

/** A client whose calls fail with the scripted errors, then succeed; counts its calls. */
function scripted(failures: unknown[]) {
  let calls = 0
  const client = {
    send: async () => {
      calls++
      const next = failures.shift()
      if (next !== undefined) throw next
      return { OutputLocation: 's3://b/out/id.out', InferenceId: 'id' }
    },
  } as unknown as SageMakerRuntimeClient
  return { client, calls: () => calls }
}

const request = { endpointName: 'ep', inputLocation: 's3://b/in', contentType: 'text/plain', inferenceId: 'id', ttlSeconds: 60, invocationTimeoutSeconds: 60 }
const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', name: 'TimeoutError' })
const timedOut = () => Object.assign(new Error('a request has exceeded the configured 5000 ms requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' })
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', name: 'TimeoutError' })

const runtime = (client: SageMakerRuntimeClient) =>
  createSageMakerInferenceRuntime({ client, asyncClient: client, asyncMaxAttempts: 3, endpointUrl: 'http://127.0.0.1:1' })

t.test('what certainly started no job is retried: refused connections, throttling, unavailability', async (t) => {
  const s = scripted([refused(), new ServiceUnavailable({ $metadata: { httpStatusCode: 503 }, message: 'busy' })])
  const out = await runtime(s.client).invokeAsync(request)
  t.equal(out.outputLocation, 's3://b/out/id.out')
  t.equal(s.calls(), 3)
})

t.test('a call that timed out or lost its connection is not repeated: the job may exist (504 / 503)', async (t) => {
  const slow = scripted([timedOut()])
  await t.rejects(runtime(slow.client).invokeAsync(request), { code: 'upstream_timeout', statusCode: 504 })
  t.equal(slow.calls(), 1)
  const cut = scripted([reset()])
  await t.rejects(runtime(cut.client).invokeAsync(request), { code: 'upstream_unavailable', statusCode: 503 })
  t.equal(cut.calls(), 1)
  const failed = scripted([new InternalFailure({ $metadata: { httpStatusCode: 500 }, message: 'oops' })])
  await t.rejects(runtime(failed.client).invokeAsync(request), { code: 'upstream_error', statusCode: 502 })
  t.equal(failed.calls(), 1)
})

t.test('attempts are bounded', async (t) => {
  const s = scripted([refused(), refused(), refused(), refused()])
  await t.rejects(runtime(s.client).invokeAsync(request), { code: 'upstream_unavailable' })
  t.equal(s.calls(), 3)
})
