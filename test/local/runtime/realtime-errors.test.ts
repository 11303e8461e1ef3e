import { InvokeEndpointCommand, ModelError } from '@aws-sdk/client-sagemaker-runtime'
import { createServer } from 'node:net'
import t from 'tap'
import { ACCOUNT_ID, REGION, holdingContainer, realtimeEndpoint, reply, startContainer, startStack } from './helpers.js'

// The status to answer comes in the custom attributes; the body is the model's message.
const failing = await startContainer(t, (r, res) => {
  const status = Number(r.headers['x-amzn-sagemaker-custom-attributes'])
  reply(res, status, `{"error": "bad input ${status}"}`, 'application/json')
})
const silent = await holdingContainer(t)
// Sends a head and part of a declared body, then drops the connection.
const dropping = await startContainer(t, (_r, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '100' })
  res.write('partial', () => res.socket?.destroy())
})
const closedPort = await freePort()
const stack = await startStack(t, [
  realtimeEndpoint('failing', failing.url),
  realtimeEndpoint('silent', silent.url, { containerTimeoutMs: 300 }),
  realtimeEndpoint('dropping', dropping.url),
  realtimeEndpoint('gone', `http://127.0.0.1:${closedPort}`),
])

async function modelError(endpoint: string, customAttributes?: string): Promise<ModelError> {
  try {
    await stack.sagemaker.send(
      new InvokeEndpointCommand({ EndpointName: endpoint, Body: Buffer.from('{}'), ...(customAttributes ? { CustomAttributes: customAttributes } : {}) }),
    )
  } catch (err) {
    if (err instanceof ModelError) return err
    throw err
  }
  throw new Error('expected a ModelError')
}

const logs = (name: string) =>
  `See https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#logEventViewer:group=/aws/sagemaker/Endpoints/${name} in account ${ACCOUNT_ID} for more information.`

t.test('a container 400 is a 424 ModelError with its status and message', async (t) => {
  const err = await modelError('failing', '400')
  t.equal(err.$metadata.httpStatusCode, 424)
  t.equal(err.OriginalStatusCode, 400)
  t.equal(err.OriginalMessage, '{"error": "bad input 400"}')
  t.equal(err.message, `Received client error (400) from primary with message "{"error": "bad input 400"}". ${logs('failing')}`)
  t.equal(err.LogStreamArn, `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/failing`)
})

t.test('a container 500 is a ModelError too, and the model runs once (no SDK retries)', async (t) => {
  const before = failing.seen.filter((r) => r.headers['x-amzn-sagemaker-custom-attributes'] === '500').length
  const err = await modelError('failing', '500')
  t.equal(err.OriginalStatusCode, 500)
  t.match(err.message, /^Received server error \(500\) from primary with message "\{"error": "bad input 500"\}"\. See /)
  t.equal(err.$metadata.attempts, 1)
  t.equal(failing.seen.filter((r) => r.headers['x-amzn-sagemaker-custom-attributes'] === '500').length - before, 1)
})

t.test('a container over containerTimeoutMs is a ModelError with OriginalStatusCode 0', async (t) => {
  const err = await modelError('silent')
  t.equal(err.OriginalStatusCode, 0)
  t.equal(
    err.OriginalMessage,
    'Your invocation timed out while waiting for a response from container primary. Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.',
  )
  t.match(err.message, /^Received server error \(0\) from primary with message "Your invocation timed out/)
  t.equal(silent.held.length, 1, 'the container got the request once')
  silent.held[0]!.release()
})

t.test('an unreachable container is a ModelError, not a retried 5xx', async (t) => {
  const err = await modelError('gone')
  t.equal(err.$metadata.httpStatusCode, 424)
  t.equal(err.$metadata.attempts, 1)
  t.equal(err.OriginalStatusCode, 502)
  t.equal(err.OriginalMessage, 'Could not connect to container primary: ECONNREFUSED.')
})

t.test('a container that drops the connection mid-answer is a ModelError', async (t) => {
  const err = await modelError('dropping')
  t.equal(err.OriginalStatusCode, 502)
  t.equal(err.OriginalMessage, 'Container primary closed the connection before its response was complete.')
})

t.test('model errors are counted per endpoint', async (t) => {
  const stats = stack.runtime.realtimeStats().find((s) => s.endpointName === 'failing')!
  t.match(stats, { invocations: 2, modelErrors: 2, inFlight: 0, multiModel: null })
})

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise<void>((r) => server.close(() => r()))
  return port
}
