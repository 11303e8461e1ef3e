import {
  InvokeEndpointAsyncCommand,
  InvokeEndpointCommand,
  SageMakerRuntimeClient,
  type SageMakerRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { CREDENTIALS, REGION, asyncEndpoint, echoContainer, realtimeEndpoint, startStack } from './helpers.js'

// SigV4 as SageMaker's front door applies it, seen through the real SDK client.
const container = await echoContainer(t)
const stack = await startStack(t, [asyncEndpoint('async-ep', container.url), realtimeEndpoint('realtime-ep', container.url)])
const call = () => new InvokeEndpointAsyncCommand({ EndpointName: 'async-ep', InputLocation: 's3://runtime-test/in/missing' })

function client(config: Partial<SageMakerRuntimeClientConfig>): SageMakerRuntimeClient {
  // One attempt: the SDK would otherwise correct its clock from the answer and retry.
  const c = new SageMakerRuntimeClient({ region: REGION, endpoint: stack.runtime.url, credentials: CREDENTIALS, maxAttempts: 1, ...config })
  t.teardown(() => c.destroy())
  return c
}

async function failure(p: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } }
  }
  throw new Error('expected the call to fail')
}

t.test('non-ASCII header bytes are read as ISO-8859-1, as AWS reads them', async (t) => {
  const invoke = (Body: string | Buffer) =>
    stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'realtime-ep', Body, ContentType: 'application/json', CustomAttributes: 'café' }))
  // With a Buffer body Node writes the SDK's headers as latin-1: the signature holds and the model's
  // \p{ASCII}* pattern refuses the value.
  const latin1 = await failure(invoke(Buffer.from('{}')))
  t.equal(latin1.name, 'ValidationError')
  t.equal(
    latin1.message,
    "1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{ASCII}*",
  )
  // With a string body they go out as UTF-8 (as boto3 sends them): 'cafÃ©' no longer matches.
  const utf8 = await failure(invoke('{}'))
  t.equal(utf8.name, 'InvalidSignatureException')
  t.equal(utf8.$metadata.httpStatusCode, 403)
  t.equal(container.seen.length, 0)
})

t.test('a client configured for another region is refused as AWS words it', async (t) => {
  const err = await failure(client({ region: 'eu-west-1' }).send(call()))
  t.equal(err.name, 'InvalidSignatureException')
  t.equal(err.$metadata.httpStatusCode, 403)
  t.equal(err.message, "Credential should be scoped to a valid region, not 'eu-west-1'. ")
})

t.test('SageMaker allows 5 minutes of clock skew, not 15', async (t) => {
  const late = await failure(client({ systemClockOffset: -6 * 60_000 }).send(call()))
  t.equal(late.name, 'InvalidSignatureException')
  t.equal(late.$metadata.httpStatusCode, 400)
  t.match(late.message, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/)
  const early = await failure(client({ systemClockOffset: 6 * 60_000 }).send(call()))
  t.match(early.message, /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/)
  const out = await client({ systemClockOffset: -4 * 60_000 }).send(call())
  t.equal(out.$metadata.httpStatusCode, 202, '4 minutes is within the window')
})
