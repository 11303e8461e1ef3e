import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createS3Client } from '../../../src/clients/aws.js'
import { startLocalRuntime } from '../../../src/local/runtime/server.js'
import { subscribeLocalTopics } from '../../../src/local/sns/subscribe.js'
import { asyncEndpoint, CREDENTIALS } from '../runtime/helpers.js'
import { snsQuery, topicArn, xmlValue } from './helpers.js'
import { startReceiver } from './receiver.js'

const SUCCESS = topicArn('ep-success')

t.test('subscriptions and the signing certificate survive a restart of the runtime', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'sagegate-sns-state-'))
  t.teardown(() => rm(stateDir, { recursive: true, force: true }))
  // No request reaches S3 here: the client only has to exist.
  const s3 = createS3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: CREDENTIALS, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const start = () =>
    startLocalRuntime({
      region: 'us-east-1',
      accountId: '123456789012',
      credentials: [CREDENTIALS],
      s3,
      stateDir,
      endpoints: [asyncEndpoint('ep', 'http://127.0.0.1:9', { notifications: { successTopicArn: SUCCESS } })],
    })
  const receiver = await startReceiver(t)

  const first = await start()
  await subscribeLocalTopics({ url: first.url, region: 'us-east-1', credentials: CREDENTIALS, topicArns: [SUCCESS], endpoint: receiver.url })
  const confirmation = await receiver.next((m) => m.body.Type === 'SubscriptionConfirmation')
  const arn = xmlValue(await (await fetch(confirmation.body.SubscribeURL!)).text(), 'SubscriptionArn')
  const pem = await (await fetch(`${first.url}/SimpleNotificationService-local.pem`)).text()
  await first.close()

  const second = await start()
  t.teardown(() => second.close())
  t.equal(await (await fetch(`${second.url}/SimpleNotificationService-local.pem`)).text(), pem)
  const listed = await snsQuery(second.url, { Action: 'ListSubscriptionsByTopic', TopicArn: SUCCESS }, CREDENTIALS)
  t.equal(xmlValue(listed.xml, 'SubscriptionArn'), arn)
})
