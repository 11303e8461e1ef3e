import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { BUCKET, asyncEndpoint, echoContainer, objectMissing, putInput, startStack, waitFor, waitForObject } from './helpers.js'

const container = await echoContainer(t)
const stack = await startStack(t, [
  asyncEndpoint('echo-ep', container.url),
  asyncEndpoint('no-failure-path', container.url, { s3FailurePath: undefined }),
])

t.test('202 with both locations; the output appears with the container’s type and body', async (t) => {
  const input = await putInput(stack.s3, 'in/hello.txt', 'hello world')
  const out = await stack.sagemaker.send(
    new InvokeEndpointAsyncCommand({
      EndpointName: 'echo-ep',
      InputLocation: input,
      ContentType: 'text/plain',
      Accept: 'application/x-echo',
      CustomAttributes: 'fps=2, trace=abc',
      InferenceId: 'job-1',
    }),
  )
  t.equal(out.$metadata.httpStatusCode, 202)
  t.equal(out.InferenceId, 'job-1')
  t.equal(out.OutputLocation, `s3://${BUCKET}/out/job-1.out`)
  t.equal(out.FailureLocation, `s3://${BUCKET}/failures/job-1-error.out`)
  t.match(out.$metadata.requestId, /^[0-9a-f-]{36}$/)

  const result = await waitForObject(stack.s3, out.OutputLocation!)
  t.equal(result.body, 'echo:hello world')
  t.equal(result.contentType, 'application/x-echo')

  const seen = container.seen.find((r) => r.headers['x-amzn-sagemaker-inference-id'] === 'job-1')!
  t.equal(seen.method, 'POST')
  t.equal(seen.url, '/invocations')
  t.equal(seen.headers['content-type'], 'text/plain')
  t.equal(seen.headers['accept'], 'application/x-echo')
  t.equal(seen.headers['x-amzn-sagemaker-custom-attributes'], 'fps=2, trace=abc')
  t.equal(seen.headers['content-length'], '11')
  t.equal(seen.headers['transfer-encoding'], undefined)
  await waitFor('processed count', () => stack.runtime.stats()[0]!.processed >= 1)
  t.ok(await objectMissing(stack.s3, out.FailureLocation!))
})

t.test('a generated InferenceId is a UUID and names the output', async (t) => {
  const input = await putInput(stack.s3, 'in/gen.txt', 'gen')
  const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'echo-ep', InputLocation: input }))
  t.match(out.InferenceId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.equal(out.OutputLocation, `s3://${BUCKET}/out/${out.InferenceId}.out`)
  t.equal((await waitForObject(stack.s3, out.OutputLocation!)).body, 'echo:gen')
  const seen = container.seen.find((r) => r.headers['x-amzn-sagemaker-inference-id'] === out.InferenceId)
  t.ok(seen, 'the container saw the generated id')
})

t.test('a reused InferenceId is accepted; the later result wins', async (t) => {
  const first = await putInput(stack.s3, 'in/dup-1.txt', 'first')
  const second = await putInput(stack.s3, 'in/dup-2.txt', 'second')
  const a = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'echo-ep', InputLocation: first, InferenceId: 'dup' }))
  await waitForObject(stack.s3, a.OutputLocation!)
  const b = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'echo-ep', InputLocation: second, InferenceId: 'dup' }))
  t.equal(b.InferenceId, 'dup')
  t.equal(b.OutputLocation, a.OutputLocation)
  await waitFor('both processed', () => container.seen.filter((r) => r.headers['x-amzn-sagemaker-inference-id'] === 'dup').length === 2)
  const deadline = Date.now() + 10_000
  let body = ''
  while (Date.now() < deadline && (body = (await waitForObject(stack.s3, b.OutputLocation!)).body) !== 'echo:second') {
    await new Promise((r) => setTimeout(r, 50))
  }
  t.equal(body, 'echo:second')
})

t.test('no FailureLocation header when the endpoint has no S3FailurePath', async (t) => {
  const input = await putInput(stack.s3, 'in/nf.txt', 'x')
  const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'no-failure-path', InputLocation: input }))
  t.equal(out.FailureLocation, undefined)
  t.ok(out.OutputLocation)
})

t.test('a Filename and S3OutputPathExtension within the service model’s patterns name the output', async (t) => {
  const input = await putInput(stack.s3, 'in/named.txt', 'named')
  const out = await stack.sagemaker.send(
    new InvokeEndpointAsyncCommand({ EndpointName: 'echo-ep', InputLocation: input, S3OutputPathExtension: "runs/2026-11/batch_(1)", Filename: 'result_1.json' }),
  )
  t.equal(out.OutputLocation, `s3://${BUCKET}/out/runs/2026-11/batch_(1)/result_1.json`)
  t.equal((await waitForObject(stack.s3, out.OutputLocation!)).body, 'echo:named')
})

t.test('an inline Body (2026 API) is sent to the container', async (t) => {
  const out = await stack.sagemaker.send(
    new InvokeEndpointAsyncCommand({ EndpointName: 'echo-ep', Body: Buffer.from('inline!'), ContentType: 'text/plain' }),
  )
  t.equal((await waitForObject(stack.s3, out.OutputLocation!)).body, 'echo:inline!')
})

t.test('a large input is streamed with its Content-Length', async (t) => {
  const size = 8 * 1024 * 1024 + 3
  const input = await putInput(stack.s3, 'in/large.bin', Buffer.alloc(size, 0x61))
  const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'echo-ep', InputLocation: input, InferenceId: 'large' }))
  const result = await waitForObject(stack.s3, out.OutputLocation!, 20_000)
  t.equal(result.body.length, size + 'echo:'.length)
  const seen = container.seen.find((r) => r.headers['x-amzn-sagemaker-inference-id'] === 'large')!
  t.equal(seen.headers['content-length'], String(size))
  t.equal(seen.body.length, size)
})
