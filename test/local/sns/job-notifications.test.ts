import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime'
import t, { type Test } from 'tap'
import { subscribeLocalTopics } from '../../../src/local/sns/subscribe.js'
import { asyncEndpoint, CREDENTIALS, holdingContainer, putInput, reply, startContainer, startStack, waitFor } from '../runtime/helpers.js'
import { localVerifier, topicArn } from './helpers.js'
import { startReceiver } from './receiver.js'

const SUCCESS = topicArn('ep-success')
const ERROR = topicArn('ep-error')

/** A runtime whose container echoes JSON, or answers 500 to the body `fail`; a subscriber confirmed on both topics. */
async function setup(t: Test) {
  const container = await startContainer(t, (r, res) =>
    r.body.toString() === 'fail' ? reply(res, 500, 'model exploded', 'text/plain') : reply(res, 200, JSON.stringify({ echo: r.body.toString() }), 'application/json'),
  )
  const stack = await startStack(t, [asyncEndpoint('ep', container.url, { notifications: { successTopicArn: SUCCESS, errorTopicArn: ERROR } })])
  const receiver = await startReceiver(t)
  const pending = await subscribeLocalTopics({ url: stack.runtime.url, region: 'us-east-1', credentials: CREDENTIALS, topicArns: [SUCCESS, ERROR], endpoint: receiver.url })
  t.same(pending, ['pending confirmation', 'pending confirmation'])
  for (const topic of [SUCCESS, ERROR]) {
    const confirmation = await receiver.next((m) => m.body.Type === 'SubscriptionConfirmation' && m.body.TopicArn === topic)
    t.equal((await fetch(confirmation.body.SubscribeURL!)).status, 200)
  }
  const invoke = async (body: string) => {
    const input = await putInput(stack.s3, `in/${Math.random()}`, body, 'text/plain')
    const out = await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'ep', InputLocation: input, ContentType: 'text/plain' }))
    return { inferenceId: out.InferenceId!, input, outputLocation: out.OutputLocation!, failureLocation: out.FailureLocation! }
  }
  return { receiver, invoke, verifier: localVerifier(stack.runtime.url) }
}

t.test('an output written is announced, signed, on the success topic', async (t) => {
  const { receiver, invoke, verifier } = await setup(t)
  const job = await invoke('hello')
  const note = await receiver.next((m) => m.body.Type === 'Notification' && m.body.Message!.includes(job.inferenceId))
  t.equal(note.headers['x-amz-sns-topic-arn'], SUCCESS)
  const verified = await verifier.verify(note.body)
  t.match(JSON.parse(verified.Message), {
    awsRegion: 'us-east-1',
    invocationStatus: 'Completed',
    requestParameters: { contentType: 'text/plain', endpointName: 'ep', inputLocation: job.input },
    responseParameters: { contentType: 'application/json', outputLocation: job.outputLocation },
    inferenceId: job.inferenceId,
    eventVersion: '1.0',
    eventSource: 'aws:sagemaker',
    eventName: 'InferenceResult',
  })
  t.ok(Date.parse(JSON.parse(verified.Message).eventTime) >= Date.parse(JSON.parse(verified.Message).receivedTime))
})

t.test('a failure object written is announced on the error topic', async (t) => {
  const { receiver, invoke, verifier } = await setup(t)
  const job = await invoke('fail')
  const note = await receiver.next((m) => m.body.Type === 'Notification' && m.body.Message!.includes(job.inferenceId))
  t.equal(note.headers['x-amz-sns-topic-arn'], ERROR)
  const message = JSON.parse((await verifier.verify(note.body)).Message)
  t.match(message, { invocationStatus: 'Failed', failureReason: String, responseParameters: { failureLocation: job.failureLocation }, inferenceId: job.inferenceId })
})

t.test('a subscriber that fails is retried', async (t) => {
  let answers = 0
  const container = await startContainer(t, (_r, res) => reply(res, 200, '{}', 'application/json'))
  const stack = await startStack(t, [asyncEndpoint('ep', container.url, { notifications: { successTopicArn: SUCCESS } })])
  const receiver = await startReceiver(t, () => (answers++ === 0 ? 500 : 200))
  await subscribeLocalTopics({ url: stack.runtime.url, region: 'us-east-1', credentials: CREDENTIALS, topicArns: [SUCCESS], endpoint: receiver.url })
  await receiver.next(() => receiver.received.length >= 2)
  t.equal(receiver.received[0]!.body.MessageId, receiver.received[1]!.body.MessageId, 'the same message again')
})

t.test('a request that expires in the queue is announced on the error topic', async (t) => {
  let nowMs = Date.now()
  const container = await holdingContainer(t)
  const endpoint = asyncEndpoint('ep', container.url, { maxConcurrentInvocationsPerInstance: 1, notifications: { errorTopicArn: ERROR } })
  const stack = await startStack(t, [endpoint], () => nowMs)
  const receiver = await startReceiver(t)
  await subscribeLocalTopics({ url: stack.runtime.url, region: 'us-east-1', credentials: CREDENTIALS, topicArns: [ERROR], endpoint: receiver.url })
  const confirmation = await receiver.next((m) => m.body.Type === 'SubscriptionConfirmation')
  await fetch(confirmation.body.SubscribeURL!)
  const input = await putInput(stack.s3, 'in/s', 's')
  await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'ep', InputLocation: input, InferenceId: 'blocker' }))
  await stack.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'ep', InputLocation: input, InferenceId: 'late', RequestTTLSeconds: 60 }))
  await waitFor('blocker at the container', () => container.held.length === 1)
  nowMs += 61_000
  const note = await receiver.next((m) => m.body.Type === 'Notification')
  t.match(JSON.parse((await localVerifier(stack.runtime.url).verify(note.body)).Message), { invocationStatus: 'Failed', inferenceId: 'late', failureReason: /Request expired/ })
  container.held[0]!.release()
})
