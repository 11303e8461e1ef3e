import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { eventually, runtimeHarness } from './durable-helpers.js'
import { asyncEndpoint, echoContainer, holdingContainer, objectMissing, putInput, reply, startContainer, waitFor, waitForObject } from './helpers.js'

t.test('an accepted request is on disk when the 202 arrives, and gone once its output is written', async (t) => {
  const container = await holdingContainer(t)
  const h = await runtimeHarness(t)
  const { runtime, sagemaker } = await h.start([asyncEndpoint('durable', container.url)])
  const input = await putInput(h.s3, 'in/d', 'd')
  const out = await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'durable', InputLocation: input, InferenceId: 'd-1' }))
  const files = await h.stateFiles()
  t.equal(files.length, 1, 'persisted before the answer')
  const record = JSON.parse(await readFile(join(h.stateDir, 'async-queue', files[0]!), 'utf8'))
  t.match(record, { version: 1, endpointName: 'durable', inferenceId: 'd-1', input: { kind: 's3', location: input }, locations: { output: { uri: out.OutputLocation } } })

  await waitFor('request at the container', () => container.held.length === 1)
  container.held[0]!.release()
  t.equal((await waitForObject(h.s3, out.OutputLocation!)).body, 'done:d')
  await eventually('state file removed', async () => (await h.stateFiles()).length === 0)
  t.equal(runtime.stats()[0]!.processed, 1)
})

t.test('a failure object or an expiry also ends a request and removes its file', async (t) => {
  let nowMs = Date.now()
  const failing = await startContainer(t, (_r, res) => reply(res, 500, '{"error":"boom"}', 'application/json'))
  const holding = await holdingContainer(t)
  const h = await runtimeHarness(t)
  const { sagemaker } = await h.start(
    [asyncEndpoint('failing', failing.url), asyncEndpoint('stuck', holding.url, { maxConcurrentInvocationsPerInstance: 1 })],
    { clock: () => nowMs },
  )
  const input = await putInput(h.s3, 'in/f', 'f')
  const failed = await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'failing', InputLocation: input }))
  t.equal((await waitForObject(h.s3, failed.FailureLocation!)).body, '{"error":"boom"}')
  await eventually('the failed request forgotten', async () => (await h.stateFiles()).length === 0)

  await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'stuck', InputLocation: input, InferenceId: 'blocker' }))
  const late = await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'stuck', InputLocation: input, RequestTTLSeconds: 60 }))
  await waitFor('blocker at the container', () => holding.held.length === 1)
  t.equal((await h.stateFiles()).length, 2)
  nowMs += 61_000
  t.equal(JSON.parse((await waitForObject(h.s3, late.FailureLocation!)).body).errorCode, 'RequestExpired')
  await eventually('only the running request left', async () => (await h.stateFiles()).length === 1)
  holding.held[0]!.release()
  await eventually('no request left', async () => (await h.stateFiles()).length === 0)
})

t.test('a runtime closed with requests in flight and queued runs all of them after a restart', async (t) => {
  const holding = await holdingContainer(t)
  const h = await runtimeHarness(t)
  const first = await h.start([asyncEndpoint('resume', holding.url, { maxConcurrentInvocationsPerInstance: 1 })])
  const input = await putInput(h.s3, 'in/r', 'from-s3')
  const outputs: string[] = []
  for (const id of ['r-1', 'r-2', 'r-2']) {
    // A duplicate InferenceId is legal: both requests are kept.
    const out = await first.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'resume', InputLocation: input, InferenceId: id }))
    outputs.push(out.OutputLocation!)
  }
  const inline = await first.sagemaker.send(
    new InvokeEndpointAsyncCommand({ EndpointName: 'resume', Body: Buffer.from([0, 1, 2, 255]), InferenceId: 'r-inline', ContentType: 'application/octet-stream' }),
  )
  await waitFor('first request at the container', () => holding.held.length === 1)
  await first.runtime.close()
  t.equal((await h.stateFiles()).length, 4, 'the in-flight and the queued requests keep their files')
  t.ok(await objectMissing(h.s3, outputs[0]!), 'the aborted run wrote nothing')

  const echo = await echoContainer(t)
  const second = await h.start([asyncEndpoint('resume', echo.url, { maxConcurrentInvocationsPerInstance: 1 })])
  const inlineOut = await waitForObject(h.s3, inline.OutputLocation!)
  t.match(inlineOut.body, /^echo:/)
  t.equal((await waitForObject(h.s3, outputs[0]!)).body, 'echo:from-s3')
  t.equal((await waitForObject(h.s3, outputs[1]!)).body, 'echo:from-s3')
  await eventually('all state files removed', async () => (await h.stateFiles()).length === 0)
  t.same(
    echo.seen.map((r) => r.headers['x-amzn-sagemaker-inference-id']),
    ['r-1', 'r-2', 'r-2', 'r-inline'],
    'in arrival order, the interrupted one first',
  )
  t.same([...echo.seen[3]!.body], [0, 1, 2, 255], 'the inline body survived byte for byte')
  t.match(second.runtime.stats()[0], { processed: 4, failed: 0, backlog: 0 })
})

t.test('RequestTTLSeconds counts from the original arrival across a restart', async (t) => {
  let nowMs = Date.now()
  const holding = await holdingContainer(t)
  const h = await runtimeHarness(t)
  const first = await h.start([asyncEndpoint('ttl', holding.url, { maxConcurrentInvocationsPerInstance: 1 })], { clock: () => nowMs })
  const input = await putInput(h.s3, 'in/t', 't')
  await first.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'ttl', InputLocation: input, InferenceId: 'runs' }))
  const late = await first.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'ttl', InputLocation: input, RequestTTLSeconds: 60 }))
  await waitFor('first at the container', () => holding.held.length === 1)
  await first.runtime.close()

  nowMs += 61_000
  const echo = await echoContainer(t)
  const second = await h.start([asyncEndpoint('ttl', echo.url, { maxConcurrentInvocationsPerInstance: 1 })], { clock: () => nowMs })
  t.same(JSON.parse((await waitForObject(h.s3, late.FailureLocation!)).body), {
    errorMessage: 'Request expired: not processed within RequestTTLSeconds (60)',
    errorCode: 'RequestExpired',
  })
  await waitFor('the other one processed', () => second.runtime.stats()[0]!.processed === 1)
  t.match(second.runtime.stats()[0], { expired: 1, processed: 1 })
  t.equal(echo.seen.length, 1, 'the expired request never reached the container')
  await eventually('all state files removed', async () => (await h.stateFiles()).length === 0)
})

t.test('unreadable state files are logged and moved aside; the others still run', async (t) => {
  const holding = await holdingContainer(t)
  const h = await runtimeHarness(t)
  const first = await h.start([asyncEndpoint('corrupt', holding.url, { maxConcurrentInvocationsPerInstance: 1 })])
  const input = await putInput(h.s3, 'in/c', 'c')
  const good = await first.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'corrupt', InputLocation: input }))
  await first.runtime.close()
  const queueDir = join(h.stateDir, 'async-queue')
  await writeFile(join(queueDir, '000000000000001-000000000-garbage.json'), '{"version":1,"endpointName":')
  await writeFile(join(queueDir, '000000000000002-000000000-wrong-shape.json'), JSON.stringify({ version: 1, endpointName: 'corrupt' }))
  await mkdir(join(h.stateDir, 'tmp'), { recursive: true })
  await writeFile(join(h.stateDir, 'tmp', 'half-written'), '{"ver')

  const echo = await echoContainer(t)
  await h.start([asyncEndpoint('corrupt', echo.url)])
  t.equal((await waitForObject(h.s3, good.OutputLocation!)).body, 'echo:c')
  t.same((await readdir(join(h.stateDir, 'corrupt'))).sort(), ['000000000000001-000000000-garbage.json', '000000000000002-000000000-wrong-shape.json'])
  t.same(await readdir(join(h.stateDir, 'tmp')), [], 'temp files of the dead runtime are wiped')
  const moved = h.logs.filter((l) => l.msg === 'unreadable async request state moved aside')
  t.equal(moved.length, 2)
  t.ok(moved.every((l) => l.level === 50), 'logged at error')
  await eventually('state files removed', async () => (await h.stateFiles()).length === 0)
})
