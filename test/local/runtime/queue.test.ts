import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { asyncEndpoint, holdingContainer, objectMissing, putInput, startStack, waitFor, waitForObject } from './helpers.js'

t.test('at most MaxConcurrentInvocationsPerInstance × instances run; the rest wait in FIFO order', async (t) => {
  const container = await holdingContainer(t)
  const stack = await startStack(t, [asyncEndpoint('one-at-a-time', container.url, { maxConcurrentInvocationsPerInstance: 1, instanceCount: 1 })])
  const outputs: string[] = []
  for (const name of ['a', 'b', 'c']) {
    const input = await putInput(stack.s3, `in/${name}`, name)
    const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'one-at-a-time', InputLocation: input, InferenceId: name }))
    outputs.push(out.OutputLocation!)
  }
  await waitFor('first request at the container', () => container.held.length === 1)
  t.match(stack.runtime.stats()[0], { endpointName: 'one-at-a-time', backlog: 2, inFlight: 1, processed: 0 })
  t.type(stack.runtime.stats()[0]!.oldestRequestAgeMs, 'number')
  t.equal(container.held[0]!.request.body.toString(), 'a')

  container.held[0]!.release()
  await waitFor('second request at the container', () => container.held.length === 2)
  t.equal(container.held[1]!.request.body.toString(), 'b')
  t.match(stack.runtime.stats()[0], { backlog: 1, inFlight: 1, processed: 1 })
  t.equal((await waitForObject(stack.s3, outputs[0]!)).body, 'done:a')
  t.ok(await objectMissing(stack.s3, outputs[1]!), 'b is not done while held')

  container.held[1]!.release()
  await waitFor('third request at the container', () => container.held.length === 3)
  t.equal(container.held[2]!.request.body.toString(), 'c')
  container.held[2]!.release()
  await waitFor('all processed', () => stack.runtime.stats()[0]!.processed === 3)
  t.match(stack.runtime.stats()[0], { backlog: 0, inFlight: 0, processed: 3, failed: 0, expired: 0, oldestRequestAgeMs: null })
})

t.test('capacity is per instance: 2 × 2 runs four at once', async (t) => {
  const container = await holdingContainer(t)
  const stack = await startStack(t, [asyncEndpoint('wide', container.url, { maxConcurrentInvocationsPerInstance: 2, instanceCount: 2 })])
  const input = await putInput(stack.s3, 'in/w', 'w')
  for (let i = 0; i < 5; i++) {
    await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'wide', InputLocation: input }))
  }
  await waitFor('four at the container', () => container.held.length === 4)
  t.match(stack.runtime.stats()[0], { backlog: 1, inFlight: 4 })
  for (const h of container.held) h.release()
  await waitFor('fifth at the container', () => container.held.length === 5)
  container.held[4]!.release()
  await waitFor('all processed', () => stack.runtime.stats()[0]!.processed === 5)
})

t.test('a request queued past RequestTTLSeconds expires without reaching the container', async (t) => {
  let nowMs = Date.now()
  const container = await holdingContainer(t)
  const stack = await startStack(t, [asyncEndpoint('stuck', container.url, { maxConcurrentInvocationsPerInstance: 1 })], () => nowMs)
  const input = await putInput(stack.s3, 'in/s', 's')
  await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'stuck', InputLocation: input, InferenceId: 'blocker' }))
  const queued = await stack.sagemaker.send(
    new InvokeEndpointAsyncCommand({ EndpointName: 'stuck', InputLocation: input, InferenceId: 'late', RequestTTLSeconds: 60 }),
  )
  await waitFor('blocker at the container', () => container.held.length === 1)
  t.match(stack.runtime.stats()[0], { backlog: 1, expired: 0 })

  nowMs += 61_000 // the queue is still blocked: expiry must come from the periodic check
  const failure = await waitForObject(stack.s3, queued.FailureLocation!)
  t.equal(failure.contentType, 'application/json')
  t.same(JSON.parse(failure.body), {
    errorMessage: 'Request expired: not processed within RequestTTLSeconds (60)',
    errorCode: 'RequestExpired',
  })
  t.match(stack.runtime.stats()[0], { backlog: 0, inFlight: 1, expired: 1, failed: 0, oldestRequestAgeMs: null })

  container.held[0]!.release()
  await waitFor('blocker processed', () => stack.runtime.stats()[0]!.processed === 1)
  t.equal(container.seen.length, 1, 'the container never saw the expired request')
  t.ok(await objectMissing(stack.s3, queued.OutputLocation!))
})

t.test('close() returns promptly with requests held and queued', async (t) => {
  const container = await holdingContainer(t)
  const stack = await startStack(t, [asyncEndpoint('closing', container.url, { maxConcurrentInvocationsPerInstance: 1 })])
  const input = await putInput(stack.s3, 'in/c', 'c')
  await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'closing', InputLocation: input }))
  await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'closing', InputLocation: input }))
  await waitFor('one at the container', () => container.held.length === 1)
  await stack.runtime.close()
  t.match(stack.runtime.stats()[0], { backlog: 0, inFlight: 0, processed: 0, failed: 0 })
})
