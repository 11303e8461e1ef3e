import { HeadObjectCommand } from '@aws-sdk/client-s3'
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createS3Client, type AwsCallObserver } from '../../src/clients/aws.js'
import { createSageMakerInferenceRuntime } from '../../src/clients/sagemaker-inference-runtime.js'

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }

function recorder() {
  const calls: Array<{ service: string; operation: string; seconds: number; code: string | undefined }> = []
  const attempts: string[] = []
  const observer: AwsCallObserver = {
    called: (service, operation, seconds, code) => calls.push({ service, operation, seconds, code }),
    attempted: (_service, operation) => attempts.push(operation),
  }
  return { observer, calls, attempts }
}

t.test('a refused call is one call of every attempt, failed with the network code', async (t) => {
  // A port that was just free: nothing listens there.
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const { port } = probe.address() as AddressInfo
  await new Promise((r) => probe.close(r))
  const r = recorder()
  const s3 = createS3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials, forcePathStyle: true, maxAttempts: 2, onCall: r.observer })
  t.teardown(() => s3.destroy())
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })))
  t.match(r.calls, [{ service: 's3', operation: 'HeadObject', code: 'ECONNREFUSED' }])
  t.equal(r.calls.length, 1)
  t.same(r.attempts, ['HeadObject', 'HeadObject'])
})

t.test('an answered error is counted under its name; a success has no code', async (t) => {
  let status = 404
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-length': '0', 'x-amz-request-id': 'r' })
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const r = recorder()
  const s3 = createS3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials,
    forcePathStyle: true,
    onCall: r.observer,
  })
  t.teardown(() => s3.destroy())
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })), { name: 'NotFound' })
  status = 200
  await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))
  t.match(r.calls, [{ operation: 'HeadObject', code: 'NotFound' }, { operation: 'HeadObject', code: undefined }])
  t.ok(r.calls.every((c) => c.seconds >= 0 && c.seconds < 10))
})

t.test('ModelNotReadyException is reported with the endpoint; other errors are not', async (t) => {
  const errors = [Object.assign(new Error('loading'), { name: 'ModelNotReadyException' }), Object.assign(new Error('bad'), { name: 'ModelError', OriginalStatusCode: 400 })]
  const client = {
    send: async () => {
      throw errors.shift()
    },
  } as unknown as SageMakerRuntimeClient
  const notReady: string[] = []
  const runtime = createSageMakerInferenceRuntime({ client, endpointUrl: 'http://127.0.0.1:1', onModelNotReady: (endpoint) => notReady.push(endpoint) })
  const req = { endpointName: 'mme', body: new Uint8Array(), targetModel: 'echo.tar.gz' }
  await t.rejects(runtime.invoke(req, { timeoutMs: 5000 }), { code: 'model_not_ready' })
  await t.rejects(runtime.invoke(req, { timeoutMs: 5000 }), { code: 'model_rejected_input' })
  t.same(notReady, ['mme'])
})
