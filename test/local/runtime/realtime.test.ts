import { InvokeEndpointCommand, ModelError } from '@aws-sdk/client-sagemaker-runtime'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { echoContainer, realtimeEndpoint, reply, startContainer, startStack } from './helpers.js'

// Echoes the body and content type unchanged; sets custom attributes only when asked to.
const container = await startContainer(t, (r, res) => {
  const headers: Record<string, string> = { 'Content-Type': r.headers['content-type'] ?? 'application/octet-stream' }
  if (r.headers['x-amzn-sagemaker-custom-attributes'] === 'echo-back') headers['X-Amzn-SageMaker-Custom-Attributes'] = 'trace=model-1'
  res.writeHead(200, { ...headers, 'Content-Length': String(r.body.length) })
  res.end(r.body)
})
// Answers chunked (no Content-Length), in several writes, as streaming containers do.
const chunked = await startContainer(t, (_r, res) => {
  res.writeHead(200, { 'Content-Type': 'application/jsonlines' })
  res.write('{"part":1}\n')
  setTimeout(() => {
    res.write('{"part":2}\n')
    res.end('{"part":3}\n')
  }, 20)
})
const huge = await startContainer(t, (_r, res) => reply(res, 200, Buffer.alloc(6 * 1024 * 1024 + 1, 0x61), 'text/plain'))
const plain = await echoContainer(t)
const stack = await startStack(t, [
  realtimeEndpoint('echo', container.url),
  realtimeEndpoint('chunked', chunked.url),
  realtimeEndpoint('huge', huge.url),
  realtimeEndpoint('plain', plain.url),
])

t.test('a random binary body and its content type come back byte for byte', async (t) => {
  const body = randomBytes(256 * 1024)
  const out = await stack.sagemaker.send(
    new InvokeEndpointCommand({ EndpointName: 'echo', Body: body, ContentType: 'application/x-custom; charset=binary', Accept: 'application/x-custom' }),
  )
  t.equal(out.$metadata.httpStatusCode, 200)
  t.ok(Buffer.from(out.Body!).equals(body), 'same bytes')
  t.equal(out.ContentType, 'application/x-custom; charset=binary')
  t.equal(out.InvokedProductionVariant, 'AllTraffic')
  t.equal(out.CustomAttributes, undefined, 'not set by the model, so not returned')
})

t.test('a Triton binary+json body keeps its json-header-size content type', async (t) => {
  const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }))
  const tensor = Buffer.from(new Float32Array([1.5, -2, 3.25, 0]).buffer)
  const contentType = `application/vnd.sagemaker-triton.binary+json;json-header-size=${json.length}`
  const out = await stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: Buffer.concat([json, tensor]), ContentType: contentType }))
  t.equal(out.ContentType, contentType)
  t.ok(Buffer.from(out.Body!).equals(Buffer.concat([json, tensor])))
})

t.test('the container gets the documented headers', async (t) => {
  await stack.sagemaker.send(
    new InvokeEndpointCommand({
      EndpointName: 'echo',
      Body: Buffer.from('{"inputs": "hi"}'),
      ContentType: 'application/json',
      Accept: 'application/jsonlines',
      CustomAttributes: 'c000b4f9-df62-4c85-a0bf-7c525f9104a4',
      InferenceId: 'inference-7',
    }),
  )
  const seen = container.seen.find((r) => r.headers['x-amzn-sagemaker-inference-id'] === 'inference-7')!
  t.equal(seen.url, '/invocations')
  t.equal(seen.headers['content-type'], 'application/json')
  t.equal(seen.headers['accept'], 'application/jsonlines')
  t.equal(seen.headers['x-amzn-sagemaker-custom-attributes'], 'c000b4f9-df62-4c85-a0bf-7c525f9104a4')
  t.equal(seen.headers['content-length'], '16')
  t.equal(seen.headers['x-amzn-sagemaker-target-model'], undefined)
})

t.test('custom attributes the model sets are returned', async (t) => {
  const out = await stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: Buffer.from('x'), CustomAttributes: 'echo-back' }))
  t.equal(out.CustomAttributes, 'trace=model-1')
})

t.test('an empty body reaches the model', async (t) => {
  const out = await stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'plain', Body: new Uint8Array(0) }))
  t.equal(Buffer.from(out.Body!).toString(), 'echo:')
  t.equal(out.ContentType, 'application/x-echo')
})

t.test('a chunked container answer is collected whole', async (t) => {
  const out = await stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'chunked', Body: Buffer.from('x') }))
  t.equal(Buffer.from(out.Body!).toString(), '{"part":1}\n{"part":2}\n{"part":3}\n')
  t.equal(out.ContentType, 'application/jsonlines')
})

t.test('an answer over 6 MiB is a ModelError, not a truncated body', async (t) => {
  const err = await stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'huge', Body: Buffer.from('x') })).then(
    () => t.fail('expected a ModelError'),
    (e: unknown) => e,
  )
  t.ok(err instanceof ModelError)
  t.equal((err as ModelError).OriginalStatusCode, 502)
  t.equal((err as ModelError).OriginalMessage, 'The response from container primary is larger than the maximum of 6291456 bytes.')
})
