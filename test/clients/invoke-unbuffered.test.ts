import { getEventListeners } from 'node:events'
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { createSageMakerRuntimeClient } from '../../src/clients/aws.js'
import { createSageMakerInferenceRuntime, UNBUFFERED_MIN_BYTES } from '../../src/clients/sagemaker-inference-runtime.js'
import type { RealtimeResult, UnbufferedResult } from '../../src/clients/inference-runtime.js'
import { AppError } from '../../src/errors.js'

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }

/** A runtime stand-in: every InvokeEndpoint is answered by `answer`, after its body has been read. */
async function runtimeWith(t: Test, answer: (res: ServerResponse, body: Buffer) => void) {
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => answer(res, Buffer.concat(chunks)))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = createSageMakerRuntimeClient({ region: 'us-east-1', endpoint: endpointUrl, credentials, maxAttempts: 1 })
  t.teardown(() => {
    client.destroy()
    server.closeAllConnections()
    server.close()
  })
  return createSageMakerInferenceRuntime({ client, endpointUrl })
}

const echo = (res: ServerResponse, body: Buffer) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'x-amzn-invoked-production-variant': 'AllTraffic' })
  res.end(body)
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

const request = (body: Buffer) => ({ endpointName: 'ep', body, contentType: 'application/octet-stream' })

t.test('unbuffered: a large answer is handed over unread with its length; a small one is read whole', async (t) => {
  const runtime = await runtimeWith(t, echo)
  const caller = new AbortController()
  const large = randomBytes(UNBUFFERED_MIN_BYTES + 1)
  const taken = (await runtime.invoke(request(large), { signal: caller.signal, timeoutMs: 60_000, unbuffered: true })) as UnbufferedResult
  t.ok('stream' in taken, 'large: a stream')
  t.equal(taken.contentLength, large.length)
  t.match(taken, { contentType: 'application/octet-stream', invokedVariant: 'AllTraffic' })
  t.same(await readAll(taken.stream), large, 'byte for byte')
  await new Promise((r) => setImmediate(r))
  t.equal(getEventListeners(caller.signal, 'abort').length, 0, 'the call stopped following the signal once the body ended')

  const small = randomBytes(UNBUFFERED_MIN_BYTES)
  const whole = (await runtime.invoke(request(small), { signal: caller.signal, timeoutMs: 60_000, unbuffered: true })) as RealtimeResult
  t.same(Buffer.from(whole.body), small, 'small: read whole')
  t.equal(getEventListeners(caller.signal, 'abort').length, 0)

  const buffered = (await runtime.invoke(request(large), { timeoutMs: 60_000 })) as RealtimeResult
  t.same(Buffer.from(buffered.body), large, 'without unbuffered: read whole whatever its size')
})

t.test('unbuffered: an answer without a length is handed over too', async (t) => {
  const runtime = await runtimeWith(t, (res, body) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write(body.subarray(0, 1))
    res.end(body.subarray(1))
  })
  const taken = (await runtime.invoke(request(Buffer.from('hello')), { timeoutMs: 60_000, unbuffered: true })) as UnbufferedResult
  t.equal(taken.contentLength, undefined)
  t.equal((await readAll(taken.stream)).toString(), 'hello')
})

t.test('unbuffered: a model error with a large body is still the translated error', async (t) => {
  const runtime = await runtimeWith(t, (res) => {
    const body = JSON.stringify({ Message: 'Received client error (400)', OriginalStatusCode: 400, OriginalMessage: 'x'.repeat(2 * UNBUFFERED_MIN_BYTES) })
    res.writeHead(424, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'ModelError', 'content-length': String(Buffer.byteLength(body)) })
    res.end(body)
  })
  const err = await runtime.invoke(request(Buffer.from('x')), { timeoutMs: 60_000, unbuffered: true }).catch((e: unknown) => e)
  t.type(err, AppError)
  t.match(err, { statusCode: 422, code: 'model_rejected_input', details: { modelStatus: 400 } })
})

t.test('unbuffered: the model deadline still ends a body that stops arriving', async (t) => {
  const runtime = await runtimeWith(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(4 * UNBUFFERED_MIN_BYTES) })
    // Half the promised bytes, then nothing.
    res.write(Buffer.alloc(2 * UNBUFFERED_MIN_BYTES))
  })
  const taken = (await runtime.invoke(request(Buffer.from('x')), { timeoutMs: 300, unbuffered: true })) as UnbufferedResult
  t.equal(taken.contentLength, 4 * UNBUFFERED_MIN_BYTES)
  const failed = await readAll(taken.stream).then(
    () => false,
    () => true,
  )
  t.ok(failed, 'the body ends in an error, not short and complete')
  t.notOk(taken.stream.readableEnded)
})

t.test('unbuffered: the caller leaving ends a body still arriving', async (t) => {
  const runtime = await runtimeWith(t, (res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(4 * UNBUFFERED_MIN_BYTES) })
    res.write(Buffer.alloc(2 * UNBUFFERED_MIN_BYTES))
  })
  const caller = new AbortController()
  const taken = (await runtime.invoke(request(Buffer.from('x')), { signal: caller.signal, timeoutMs: 60_000, unbuffered: true })) as UnbufferedResult
  const closed = new Promise((r) => taken.stream.once('close', r))
  taken.stream.resume()
  caller.abort(new Error('client gone'))
  await closed
  t.notOk(taken.stream.readableEnded, 'destroyed, not ended')
  t.equal(getEventListeners(caller.signal, 'abort').length, 0)
})
