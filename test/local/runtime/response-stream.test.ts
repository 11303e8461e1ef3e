import {
  InvokeEndpointWithResponseStreamCommand,
  ModelError,
  ModelStreamError,
  type ResponseStream,
} from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { CREDENTIALS, newGate, realtimeEndpoint, reply, startContainer, startStack, waitFor } from './helpers.js'

// Writes three chunks; each after the test has seen the previous one (so they cannot arrive together).
let steps: Array<ReturnType<typeof newGate>> = []
const stepping = await startContainer(t, (r, res) => {
  res.writeHead(200, { 'Content-Type': 'application/jsonlines', 'X-Amzn-SageMaker-Custom-Attributes': 'streamed=yes' })
  void (async () => {
    for (let i = 1; i <= 3; i++) {
      if (i > 1) await steps[i - 2]!.promise
      res.write(`{"accept":"${r.headers['accept']}","part":${i}}\n`)
    }
    res.end()
  })()
})
// One chunk, then the connection drops.
const dropping = await startContainer(t, (_r, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.write('first part', () => setTimeout(() => res.socket?.destroy(), 50))
})
// One chunk, then silence.
const stalling = await startContainer(t, (_r, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.write('only part')
})
// Writes until its connection closes, and records that it did.
let endlessClosed = false
const endless = await startContainer(t, (_r, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  const timer = setInterval(() => res.write('tick\n'), 20)
  res.once('close', () => {
    clearInterval(timer)
    endlessClosed = true
  })
})
const refusing = await startContainer(t, (_r, res) => reply(res, 400, 'no streaming for you', 'text/plain'))
const stack = await startStack(t, [
  realtimeEndpoint('stepping', stepping.url),
  realtimeEndpoint('dropping', dropping.url),
  realtimeEndpoint('stalling', stalling.url, { containerTimeoutMs: 300 }),
  realtimeEndpoint('refusing', refusing.url),
  realtimeEndpoint('endless', endless.url),
])

const stream = (endpoint: string) =>
  stack.sagemaker.send(
    new InvokeEndpointWithResponseStreamCommand({ EndpointName: endpoint, Body: Buffer.from('{"inputs":"x"}'), ContentType: 'application/json', Accept: 'application/jsonlines' }),
  )
const text = (event: ResponseStream) => Buffer.from(event.PayloadPart!.Bytes!).toString()

t.test('each chunk arrives as its own PayloadPart, as the model writes it', async (t) => {
  steps = [newGate(), newGate()]
  const out = await stream('stepping')
  t.equal(out.ContentType, 'application/jsonlines')
  t.equal(out.InvokedProductionVariant, 'AllTraffic')
  t.equal(out.CustomAttributes, 'streamed=yes')
  const parts: string[] = []
  for await (const event of out.Body!) {
    parts.push(text(event))
    // The container writes the next chunk only now: the previous one was not held back.
    steps[parts.length - 1]?.open()
  }
  t.same(parts, [1, 2, 3].map((i) => `{"accept":"application/jsonlines","part":${i}}\n`))
  const seen = stepping.seen.at(-1)!
  t.equal(seen.headers['accept'], 'application/jsonlines', 'X-Amzn-SageMaker-Accept reaches the model as Accept')
  t.equal(seen.headers['content-type'], 'application/json')
})

t.test('a connection drop mid-stream is a ModelStreamError (StreamBroken) after the parts so far', async (t) => {
  const out = await stream('dropping')
  const parts: string[] = []
  const err = await (async () => {
    for await (const event of out.Body!) parts.push(text(event))
  })().then(
    () => t.fail('expected a ModelStreamError'),
    (e: unknown) => e,
  )
  t.same(parts, ['first part'])
  t.ok(err instanceof ModelStreamError)
  t.equal((err as ModelStreamError).ErrorCode, 'StreamBroken')
  t.equal((err as ModelStreamError).message, 'Container primary closed the connection before its response stream was complete.')
  t.match(stack.runtime.realtimeStats().find((s) => s.endpointName === 'dropping'), { invocations: 1, modelErrors: 1, inFlight: 0 })
})

t.test('a model silent for longer than containerTimeoutMs mid-stream: ModelInvocationTimeExceeded', async (t) => {
  const out = await stream('stalling')
  const parts: string[] = []
  const err = await (async () => {
    for await (const event of out.Body!) parts.push(text(event))
  })().then(
    () => t.fail('expected a ModelStreamError'),
    (e: unknown) => e,
  )
  t.same(parts, ['only part'])
  t.ok(err instanceof ModelStreamError)
  t.equal((err as ModelStreamError).ErrorCode, 'ModelInvocationTimeExceeded')
})

t.test('an error status before any byte is an ordinary 424 ModelError', async (t) => {
  const err = await stream('refusing').then(
    () => t.fail('expected a ModelError'),
    (e: unknown) => e,
  )
  t.ok(err instanceof ModelError)
  t.equal((err as ModelError).$metadata.httpStatusCode, 424)
  t.equal((err as ModelError).OriginalStatusCode, 400)
  t.equal((err as ModelError).OriginalMessage, 'no streaming for you')
})

t.test('the answer is an AWS event stream with the model’s type in X-Amzn-SageMaker-Content-Type', async (t) => {
  steps = [newGate(), newGate()]
  steps.forEach((s) => s.open())
  const client = stack.clientWith(CREDENTIALS)
  let headers: Record<string, string> = {}
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args)
      headers = (result.response as { headers: Record<string, string> }).headers
      return result
    },
    { step: 'deserialize', name: 'captureResponseHeaders' },
  )
  const out = await client.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'stepping', Body: Buffer.from('x') }))
  for await (const _ of out.Body!) {
    // drain
  }
  t.equal(headers['content-type'], 'application/vnd.amazon.eventstream')
  t.equal(headers['x-amzn-sagemaker-content-type'], 'application/jsonlines')
  t.equal(headers['x-amzn-invoked-production-variant'], 'AllTraffic')
  t.match(headers['x-amzn-requestid'], /^[0-9a-f-]{36}$/)
})

t.test('a caller that stops reading ends the model’s stream too', async (t) => {
  const controller = new AbortController()
  const out = await stack.sagemaker.send(new InvokeEndpointWithResponseStreamCommand({ EndpointName: 'endless', Body: Buffer.from('x') }), {
    abortSignal: controller.signal,
  })
  for await (const event of out.Body!) {
    t.equal(text(event), 'tick\n')
    break
  }
  controller.abort()
  await waitFor('the container connection to close', () => endlessClosed)
  await waitFor('the invocation to end', () => stack.runtime.realtimeStats().find((s) => s.endpointName === 'endless')!.inFlight === 0)
})
