import { InvokeEndpointAsyncCommand, InvokeEndpointCommand, ValidationError } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { ACCOUNT_ID, CREDENTIALS, asyncEndpoint, echoContainer, startStack } from './helpers.js'

const container = await echoContainer(t)
const stack = await startStack(t, [asyncEndpoint('async-ep', container.url)])
const call = new InvokeEndpointAsyncCommand({ EndpointName: 'async-ep', InputLocation: 's3://runtime-test/in/x' })

async function failure(p: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number; requestId?: string } }> {
  try {
    await p
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } }
  }
  throw new Error('expected the call to fail')
}

t.test('an unknown access key is UnrecognizedClientException', async (t) => {
  const err = await failure(stack.clientWith({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' }).send(call))
  t.equal(err.name, 'UnrecognizedClientException')
  t.equal(err.message, 'The security token included in the request is invalid.')
  t.equal(err.$metadata.httpStatusCode, 403)
  t.equal(stack.runtime.stats()[0]!.backlog + stack.runtime.stats()[0]!.inFlight, 0)
})

t.test('a wrong secret is InvalidSignatureException', async (t) => {
  const err = await failure(stack.clientWith({ accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' }).send(call))
  t.equal(err.name, 'InvalidSignatureException')
  t.equal(err.$metadata.httpStatusCode, 403)
})

t.test('an unsigned request is refused before validation', async (t) => {
  const res = await fetch(`${stack.runtime.url}/endpoints/nope/async-invocations`, { method: 'POST' })
  t.equal(res.status, 403)
  t.equal(res.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException')
  t.match(res.headers.get('x-amzn-requestid'), /^[0-9a-f-]{36}$/)
})

t.test('InvokeEndpoint on an async endpoint is a ValidationError', async (t) => {
  const err = await failure(stack.sagemaker.send(new InvokeEndpointCommand({ EndpointName: 'async-ep', Body: Buffer.from('x') })))
  t.ok(err instanceof ValidationError)
  t.equal(err.message, `Endpoint async-ep of account ${ACCOUNT_ID} is an asynchronous endpoint; use InvokeEndpointAsync.`)
  t.equal(container.seen.length, 0)
})

t.test('an unknown path is UnknownOperationException with a request id', async (t) => {
  const res = await fetch(`${stack.runtime.url}/nothing/here`, { method: 'POST', body: 'x' })
  t.equal(res.status, 404)
  t.equal(res.headers.get('x-amzn-errortype'), 'UnknownOperationException')
  t.equal(res.headers.get('content-type'), 'application/json')
  t.match(res.headers.get('x-amzn-requestid'), /^[0-9a-f-]{36}$/)
  t.same(await res.json(), { message: 'Unknown operation' })
})

t.test('GET /ping answers 200 for readiness probes', async (t) => {
  const res = await fetch(`${stack.runtime.url}/ping`)
  t.equal(res.status, 200)
})

t.test('local-only routes list endpoints and their counters', async (t) => {
  const list = (await (await fetch(`${stack.runtime.url}/_local/endpoints`)).json()) as { endpoints: Array<Record<string, unknown>> }
  t.match(list.endpoints, [{ name: 'async-ep', mode: 'async', stats: { endpointName: 'async-ep', backlog: 0, inFlight: 0 } }])
  const stats = await fetch(`${stack.runtime.url}/_local/endpoints/async-ep/stats`)
  t.equal(stats.status, 200)
  t.match(await stats.json(), { endpointName: 'async-ep', processed: 0, failed: 0, expired: 0, oldestRequestAgeMs: null })
  t.equal((await fetch(`${stack.runtime.url}/_local/endpoints/nope/stats`)).status, 404)
})
