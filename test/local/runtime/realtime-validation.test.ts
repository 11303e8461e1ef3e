import {
  InvokeEndpointCommand,
  InvokeEndpointWithResponseStreamCommand,
  ValidationError,
  type InvokeEndpointCommandInput,
} from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { ACCOUNT_ID, asyncEndpoint, echoContainer, mmeEndpoint, realtimeEndpoint, startStack } from './helpers.js'

// The SDK validates nothing client-side, so everything below reaches the runtime as sent.
const container = await echoContainer(t)
const stack = await startStack(t, [
  realtimeEndpoint('single', container.url),
  mmeEndpoint('multi', container.url, t.testdir()),
  asyncEndpoint('async-ep', container.url),
])

async function rejection(send: Promise<unknown>): Promise<ValidationError> {
  try {
    await send
  } catch (err) {
    if (err instanceof ValidationError) return err
    throw err
  }
  throw new Error('expected a ValidationError')
}
const invoke = (input: Partial<InvokeEndpointCommandInput>) =>
  rejection(stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'single', Body: Buffer.from('x'), ...input })))
const one = (violation: string) => `1 validation error detected: ${violation}`

t.test('unknown endpoint', async (t) => {
  t.equal((await invoke({ EndpointName: 'nope' })).message, `Endpoint nope of account ${ACCOUNT_ID} not found.`)
})

t.test('InvokeEndpoint on an async endpoint', async (t) => {
  t.equal(
    (await invoke({ EndpointName: 'async-ep' })).message,
    `Endpoint async-ep of account ${ACCOUNT_ID} is an asynchronous endpoint; use InvokeEndpointAsync.`,
  )
})

t.test('a TargetModel on a single-model endpoint', async (t) => {
  const err = await invoke({ TargetModel: 'a.tar.gz' })
  t.equal(err.message, 'Endpoint single is not a multi-model endpoint and does not support target model header.')
  t.equal(err.$metadata.httpStatusCode, 400)
})

t.test('a multi-model endpoint without TargetModel names the request', async (t) => {
  const err = await invoke({ EndpointName: 'multi' })
  t.equal(err.message, `Request ${err.$metadata.requestId} is missing a target model header.`)
})

t.test('a body over 6 MiB is reported without its value', async (t) => {
  const err = await invoke({ Body: Buffer.alloc(6 * 1024 * 1024 + 1, 1) })
  t.equal(err.message, one("Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 6291456"))
})

t.test('a TargetModel over 1024 characters', async (t) => {
  const long = 'm'.repeat(1025)
  const err = await invoke({ EndpointName: 'multi', TargetModel: long })
  t.equal(err.message, one(`Value '${long}' at 'targetModel' failed to satisfy constraint: Member must have length less than or equal to 1024`))
})

t.test('header members are checked together, in member order', async (t) => {
  const err = await invoke({
    Accept: 'é',
    TargetVariant: 'bad_variant',
    TargetContainerHostname: '-host',
    InferenceComponentName: 'ends-with-',
    SessionId: 'NOT_A_SESSION',
  })
  t.equal(
    err.message,
    '5 validation errors detected: ' +
      [
        "Value 'é' at 'accept' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{ASCII}*",
        "Value 'bad_variant' at 'targetVariant' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
        "Value '-host' at 'targetContainerHostname' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*",
        "Value 'ends-with-' at 'inferenceComponentName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$",
        "Value 'NOT_A_SESSION' at 'sessionId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$",
      ].join('; '),
  )
})

t.test('SessionId NEW_SESSION is accepted by InvokeEndpoint', async (t) => {
  const out = await stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'single', Body: Buffer.from('s'), SessionId: 'NEW_SESSION' }))
  t.equal(Buffer.from(out.Body!).toString(), 'echo:s')
})

t.test('InvokeEndpointWithResponseStream on a multi-model endpoint', async (t) => {
  const err = await rejection(stack.sagemaker.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'multi', Body: Buffer.from('x') })))
  t.equal(err.message, 'Endpoint multi is a multi-model endpoint and does not support InvokeEndpointWithResponseStream.')
})

t.test('InvokeEndpointWithResponseStream on an async endpoint', async (t) => {
  const err = await rejection(stack.sagemaker.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'async-ep', Body: Buffer.from('x') })))
  t.equal(err.message, `Endpoint async-ep of account ${ACCOUNT_ID} is an asynchronous endpoint; use InvokeEndpointAsync.`)
})

t.test('no rejected call reached the container', async (t) => {
  t.equal(container.seen.filter((r) => r.body.toString() !== 's').length, 0)
})
