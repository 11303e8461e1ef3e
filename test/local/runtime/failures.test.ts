import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { asyncEndpoint, holdingContainer, objectMissing, putInput, reply, startContainer, startStack, waitFor, waitForObject } from './helpers.js'

const failing = await startContainer(t, (r, res) => {
  const status = Number(r.headers['x-amzn-sagemaker-custom-attributes'] ?? '500')
  reply(res, status, JSON.stringify({ error: `failed with ${status}` }), 'application/problem+json')
})
const silent = await holdingContainer(t)
const stack = await startStack(t, [
  asyncEndpoint('failing', failing.url),
  asyncEndpoint('silent', silent.url),
  asyncEndpoint('failing-no-path', failing.url, { s3FailurePath: undefined }),
])
const statsOf = (name: string) => stack.runtime.stats().find((s) => s.endpointName === name)!

t.test('a container 500 becomes a failure object holding its body and type', async (t) => {
  const input = await putInput(stack.s3, 'in/f500', 'x')
  const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'failing', InputLocation: input, CustomAttributes: '500' }))
  const failure = await waitForObject(stack.s3, out.FailureLocation!)
  t.equal(failure.body, '{"error":"failed with 500"}')
  t.equal(failure.contentType, 'application/problem+json')
  await waitFor('failed count', () => statsOf('failing').failed === 1)
  t.ok(await objectMissing(stack.s3, out.OutputLocation!))
  t.equal(failing.seen.length, 1, 'a model error is not retried')
})

t.test('a container 400 is a failure too', async (t) => {
  const input = await putInput(stack.s3, 'in/f400', 'x')
  const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'failing', InputLocation: input, CustomAttributes: '400' }))
  t.equal((await waitForObject(stack.s3, out.FailureLocation!)).body, '{"error":"failed with 400"}')
})

t.test('a container that does not answer within InvocationTimeoutSeconds', async (t) => {
  const input = await putInput(stack.s3, 'in/slow', 'x')
  const out = await stack.sagemaker.send(
    new InvokeEndpointAsyncCommand({ EndpointName: 'silent', InputLocation: input, InvocationTimeoutSeconds: 1 }),
  )
  const failure = await waitForObject(stack.s3, out.FailureLocation!)
  t.same(JSON.parse(failure.body), {
    errorMessage: 'Model invocation timed out: no complete response within InvocationTimeoutSeconds (1)',
    errorCode: 'InvocationTimeout',
  })
  await waitFor('failure counted', () => statsOf('silent').failed === 1 && statsOf('silent').inFlight === 0)
  t.equal(silent.held.length, 1, 'the container did get the request')
})

t.test('a missing input object fails later, not at submission', async (t) => {
  const out = await stack.sagemaker.send(
    new InvokeEndpointAsyncCommand({ EndpointName: 'failing', InputLocation: 's3://runtime-test/in/does-not-exist' }),
  )
  t.equal(out.$metadata.httpStatusCode, 202)
  const failure = JSON.parse((await waitForObject(stack.s3, out.FailureLocation!)).body)
  t.equal(failure.errorCode, 'InputDownloadFailed')
  t.match(failure.errorMessage, /^Failed to download the input from s3:\/\/runtime-test\/in\/does-not-exist: NoSuchKey/)
})

t.test('without S3FailurePath a failure is only counted', async (t) => {
  const input = await putInput(stack.s3, 'in/np', 'x')
  const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'failing-no-path', InputLocation: input }))
  t.equal(out.FailureLocation, undefined)
  await waitFor('failed count', () => statsOf('failing-no-path').failed === 1)
  t.equal(statsOf('failing-no-path').processed, 0)
})
