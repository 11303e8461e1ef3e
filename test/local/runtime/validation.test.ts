import { InvokeEndpointAsyncCommand, ValidationError, type InvokeEndpointAsyncCommandInput } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { ACCOUNT_ID, asyncEndpoint, echoContainer, startStack, type Stack } from './helpers.js'

// The SDK validates nothing client-side, so everything below reaches the runtime as sent.
const container = await echoContainer(t)
const stack: Stack = await startStack(t, [
  asyncEndpoint('async-ep', container.url),
  { name: 'realtime-ep', mode: 'realtime', containerUrl: container.url },
])

const base: InvokeEndpointAsyncCommandInput = { EndpointName: 'async-ep', InputLocation: 's3://runtime-test/in/x' }

async function rejection(input: Partial<InvokeEndpointAsyncCommandInput>): Promise<ValidationError> {
  try {
    await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ ...base, ...input } as InvokeEndpointAsyncCommandInput))
  } catch (err) {
    if (err instanceof ValidationError) return err
    throw err
  }
  throw new Error('expected a ValidationError')
}

const one = (violation: string) => `1 validation error detected: ${violation}`

t.test('unknown endpoint gets SageMaker’s not-found message', async (t) => {
  const err = await rejection({ EndpointName: 'nope' })
  t.equal(err.message, `Endpoint nope of account ${ACCOUNT_ID} not found.`)
  t.equal(err.$metadata.httpStatusCode, 400)
  t.match(err.$metadata.requestId, /^[0-9a-f-]{36}$/)
  t.equal(container.seen.length, 0)
})

t.test('endpoint names must match case exactly (case is preserved and must be matched)', async (t) => {
  const err = await rejection({ EndpointName: 'ASYNC-EP' })
  t.equal(err.message, `Endpoint ASYNC-EP of account ${ACCOUNT_ID} not found.`)
})

t.test('a real-time endpoint refuses async calls', async (t) => {
  const err = await rejection({ EndpointName: 'realtime-ep' })
  t.equal(err.message, `Endpoint realtime-ep of account ${ACCOUNT_ID} is not configured for asynchronous inference.`)
})

t.test('RequestTTLSeconds below 60', async (t) => {
  const err = await rejection({ RequestTTLSeconds: 59 })
  t.equal(err.message, one("Value '59' at 'requestTTLSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"))
})

t.test('RequestTTLSeconds above 21600', async (t) => {
  const err = await rejection({ RequestTTLSeconds: 21601 })
  t.equal(err.message, one("Value '21601' at 'requestTTLSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600"))
})

t.test('InvocationTimeoutSeconds 0', async (t) => {
  const err = await rejection({ InvocationTimeoutSeconds: 0 })
  t.equal(err.message, one("Value '0' at 'invocationTimeoutSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1"))
})

t.test('InvocationTimeoutSeconds above 3600', async (t) => {
  const err = await rejection({ InvocationTimeoutSeconds: 3601 })
  t.equal(err.message, one("Value '3601' at 'invocationTimeoutSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600"))
})

t.test('InputLocation that is not an s3:// or https:// URI', async (t) => {
  const err = await rejection({ InputLocation: 'ftp://bucket/key' })
  t.equal(
    err.message,
    one("Value 'ftp://bucket/key' at 'inputLocation' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$"),
  )
})

t.test('missing InputLocation (and no inline Body)', async (t) => {
  const err = await rejection({ InputLocation: undefined })
  t.equal(err.message, one("Value null at 'inputLocation' failed to satisfy constraint: Member must not be null"))
})

t.test('over-long CustomAttributes are reported without their value (sensitive)', async (t) => {
  const err = await rejection({ CustomAttributes: 'a'.repeat(1025) })
  t.equal(err.message, one("Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024"))
})

t.test('empty and over-long InferenceId', async (t) => {
  t.equal(
    (await rejection({ InferenceId: '' })).message,
    one("Value '' at 'inferenceId' failed to satisfy constraint: Member must have length greater than or equal to 1"),
  )
  const long = 'i'.repeat(65)
  t.equal(
    (await rejection({ InferenceId: long })).message,
    one(`Value '${long}' at 'inferenceId' failed to satisfy constraint: Member must have length less than or equal to 64`),
  )
  // (A leading blank never arrives: HTTP strips it from header values. A tab inside does.)
  t.equal(
    (await rejection({ InferenceId: 'a\tb' })).message,
    one("Value 'a\tb' at 'inferenceId' failed to satisfy constraint: Member must satisfy regular expression pattern: \\A\\S[\\p{Print}]*\\z"),
  )
})

t.test('an endpoint name outside the pattern', async (t) => {
  const err = await rejection({ EndpointName: 'bad_name' })
  t.equal(
    err.message,
    one("Value 'bad_name' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*"),
  )
})

t.test('several violations are reported together, in member order', async (t) => {
  const err = await rejection({ RequestTTLSeconds: 59, InvocationTimeoutSeconds: 0, InputLocation: 'nope' })
  t.equal(
    err.message,
    '3 validation errors detected: ' +
      [
        "Value 'nope' at 'inputLocation' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$",
        "Value '59' at 'requestTTLSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
        "Value '0' at 'invocationTimeoutSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1",
      ].join('; '),
  )
})

t.test('an inline Body over 128,000 bytes', async (t) => {
  const err = await rejection({ InputLocation: undefined, Body: Buffer.alloc(128_001, 1) })
  t.equal(err.message, one("Value at 'body' failed to satisfy constraint: Member must have length less than or equal to 128000"))
})

t.test('Body and InputLocation together', async (t) => {
  const err = await rejection({ Body: Buffer.from('x') })
  t.match(err.message, /mutually exclusive/)
})

t.test('Filename is checked against the service model’s FilenameHeader pattern', async (t) => {
  const shown = '^(?!.*\\..*\\.)[a-zA-Z0-9][a-zA-Z0-9-_\\.]*$'
  for (const name of ['a b.txt', '-x.txt', 'a.b.c', '.hidden']) {
    t.equal(
      (await rejection({ Filename: name })).message,
      one(`Value '${name}' at 'filename' failed to satisfy constraint: Member must satisfy regular expression pattern: ${shown}`),
      name,
    )
  }
  t.equal(
    (await rejection({ Filename: 'f'.repeat(33) })).message,
    one(`Value '${'f'.repeat(33)}' at 'filename' failed to satisfy constraint: Member must have length less than or equal to 32`),
  )
})

t.test('S3OutputPathExtension is checked against the service model’s pattern', async (t) => {
  const shown = "^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$"
  for (const ext of ['s3:bucket/x', 'https:x', 'runs/a+b', 'runs/~1']) {
    t.equal(
      (await rejection({ S3OutputPathExtension: ext })).message,
      one(`Value '${ext}' at 's3OutputPathExtension' failed to satisfy constraint: Member must satisfy regular expression pattern: ${shown}`),
      ext,
    )
  }
})

t.test('nothing was queued by any rejected call', async (t) => {
  t.same(
    stack.runtime.stats().map((s) => [s.backlog, s.inFlight, s.processed, s.failed]),
    [[0, 0, 0, 0]],
  )
  t.equal(container.seen.length, 0)
})
