import t, { type Test } from 'tap'
import { asyncEndpoint, CREDENTIALS, echoContainer, startStack } from '../runtime/helpers.js'
import { localVerifier, snsQuery, topicArn, xmlValue } from './helpers.js'
import { startReceiver } from './receiver.js'
import { subscribeLocalTopics } from '../../../src/local/sns/subscribe.js'

const SUCCESS = topicArn('ep-success')
const ERROR = topicArn('ep-error')

async function setup(t: Test) {
  const container = await echoContainer(t)
  const stack = await startStack(t, [asyncEndpoint('ep', container.url, { notifications: { successTopicArn: SUCCESS, errorTopicArn: ERROR } })])
  const receiver = await startReceiver(t)
  const url = stack.runtime.url
  return { url, receiver, query: (params: Record<string, string>) => snsQuery(url, params, CREDENTIALS) }
}

t.test('subscribe, confirm through the SubscribeURL, publish, unsubscribe', async (t) => {
  const { url, receiver, query } = await setup(t)
  const verifier = localVerifier(url)
  const sub = await query({ Action: 'Subscribe', TopicArn: SUCCESS, Protocol: 'http', Endpoint: receiver.url })
  t.equal(sub.status, 200)
  t.match(sub.xml, /^<\?xml[^>]*>\n<SubscribeResponse xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><SubscribeResult><SubscriptionArn>pending confirmation<\/SubscriptionArn>/)

  const confirmation = await receiver.next((m) => m.body.Type === 'SubscriptionConfirmation')
  t.equal(confirmation.headers['x-amz-sns-message-type'], 'SubscriptionConfirmation')
  t.equal(confirmation.headers['x-amz-sns-topic-arn'], SUCCESS)
  t.equal(confirmation.headers['content-type'], 'text/plain; charset=UTF-8')
  const verified = await verifier.verify(confirmation.body)
  t.equal(verified.Type, 'SubscriptionConfirmation')
  const confirmed = await fetch(confirmation.body.SubscribeURL!)
  t.equal(confirmed.status, 200)
  const arn = xmlValue(await confirmed.text(), 'SubscriptionArn')!
  t.match(arn, new RegExp(`^${SUCCESS}:[0-9a-f-]{36}$`))

  const listed = await query({ Action: 'ListSubscriptionsByTopic', TopicArn: SUCCESS })
  t.equal(xmlValue(listed.xml, 'SubscriptionArn'), arn)
  t.equal(xmlValue(listed.xml, 'Endpoint'), receiver.url)
  t.equal(xmlValue((await query({ Action: 'Subscribe', TopicArn: SUCCESS, Protocol: 'http', Endpoint: receiver.url })).xml, 'SubscriptionArn'), arn, 'subscribing again gives the same subscription')

  const published = await query({ Action: 'Publish', TopicArn: SUCCESS, Message: 'hello', Subject: 'greeting' })
  const messageId = xmlValue(published.xml, 'MessageId')
  const note = await receiver.next((m) => m.body.MessageId === messageId)
  t.equal(note.headers['x-amz-sns-message-id'], messageId)
  t.match(await verifier.verify(note.body), { Type: 'Notification', Message: 'hello', Subject: 'greeting' })

  t.equal((await query({ Action: 'Unsubscribe', SubscriptionArn: arn })).status, 200)
  await receiver.next((m) => m.body.Type === 'UnsubscribeConfirmation')
  t.notMatch((await query({ Action: 'ListSubscriptionsByTopic', TopicArn: SUCCESS })).xml, /<member>/)
})

t.test('serves its signing certificate', async (t) => {
  const { url } = await setup(t)
  const res = await fetch(`${url}/SimpleNotificationService-local.pem`)
  t.equal(res.status, 200)
  t.match(await res.text(), /^-----BEGIN CERTIFICATE-----\n/)
})

t.test('refuses unsigned and badly signed calls, unknown topics and tokens', async (t) => {
  const { url, receiver, query } = await setup(t)
  const unsigned = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `Action=Publish&TopicArn=${SUCCESS}&Message=x` })
  t.equal(unsigned.status, 403)
  t.equal(xmlValue(await unsigned.text(), 'Code'), 'MissingAuthenticationToken')
  const forged = await snsQuery(url, { Action: 'Publish', TopicArn: SUCCESS, Message: 'x' }, { ...CREDENTIALS, secretAccessKey: 'wrong' })
  t.equal(forged.status, 403)
  t.equal(xmlValue(forged.xml, 'Code'), 'SignatureDoesNotMatch')
  const missing = await query({ Action: 'Subscribe', TopicArn: topicArn('nope'), Protocol: 'http', Endpoint: receiver.url })
  t.equal(missing.status, 404)
  t.match(missing.xml, /<ErrorResponse xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><Error><Type>Sender<\/Type><Code>NotFound<\/Code>/)
  const badToken = await fetch(`${url}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(SUCCESS)}&Token=nope`)
  t.equal(badToken.status, 400)
  t.equal((await query({ Action: 'Subscribe', TopicArn: SUCCESS, Protocol: 'email', Endpoint: 'a@b.c' })).status, 400)
  t.equal((await query({ Action: 'CreateTopic', Name: 'x' })).status, 400)
})

t.test('subscribeLocalTopics with exclusive removes the topics\' other subscriptions (an earlier start on another port)', async (t) => {
  const { url, receiver, query } = await setup(t)
  const old = await query({ Action: 'Subscribe', TopicArn: SUCCESS, Protocol: 'http', Endpoint: receiver.url })
  t.equal(old.status, 200)
  const confirmation = await receiver.next((m) => m.body.Type === 'SubscriptionConfirmation')
  await fetch(confirmation.body.SubscribeURL!)
  const current = `${receiver.url}/current`
  await subscribeLocalTopics({ url, region: 'us-east-1', credentials: CREDENTIALS, topicArns: [SUCCESS], endpoint: current, exclusive: true })
  const listed = (await query({ Action: 'ListSubscriptionsByTopic', TopicArn: SUCCESS })).xml
  t.same([...listed.matchAll(/<Endpoint>([^<]*)<\/Endpoint>/g)].map((m) => m[1]), [current], 'only the current endpoint is left')
})
