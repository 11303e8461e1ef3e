import pino from 'pino'
import t from 'tap'
import { subscribeLocalTopics } from '../../../src/local/sns/subscribe.js'
import { notificationRoutes } from '../../../src/routes/notifications.js'
import { confirmSnsSubscription, createSnsVerifier } from '../../../src/services/sns-verify.js'
import { bareApp } from '../../helpers/bare-app.js'
import { startTestStack, waitForJob } from '../../helpers/stack.js'

/**
 * The whole chain: the local stack's SNS subscribes a second gateway's POST /notifications/sns, which
 * confirms through the SubscribeURL; a summarize job through the first gateway ends, and the
 * signed notification reaches the intake with the job's id.
 */
t.test('a finished job reaches the SNS intake, signed and verified', async (t) => {
  const it = await startTestStack(t)
  const logger = pino({ level: 'silent' })
  t.equal(it.stack.sns.certificateUrl, `${it.stack.sagemaker.endpoint}/SimpleNotificationService-local.pem`)
  t.ok(it.stack.sns.topicArns.includes('arn:aws:sns:us-east-1:000000000000:summarize-async-success'))
  t.ok(it.stack.sns.topicArns.includes('arn:aws:sns:us-east-1:000000000000:summarize-async-error'))

  const intake = bareApp()
  const woken: string[] = []
  const confirmed: string[] = []
  await intake.register(
    notificationRoutes({
      verifier: createSnsVerifier({ logger, trustedCertificateUrls: [it.stack.sns.certificateUrl] }),
      topicArns: it.stack.sns.topicArns,
      onJobNotification: (id) => woken.push(id),
      confirmSubscription: async (url) => {
        await confirmSnsSubscription(url)
        confirmed.push(url)
      },
      logger,
    }),
  )
  const intakeUrl = await intake.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => intake.close())

  const { region, credentials } = it.stack
  await subscribeLocalTopics({ url: it.stack.sns.endpoint, region, credentials, topicArns: it.stack.sns.topicArns, endpoint: `${intakeUrl}/notifications/sns` })
  const until = async (what: string, done: () => boolean) => {
    for (const deadline = Date.now() + 20_000; !done(); await new Promise((r) => setTimeout(r, 50))) if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
  }
  await until('confirmations', () => confirmed.length === it.stack.sns.topicArns.length)
  const again = await subscribeLocalTopics({ url: it.stack.sns.endpoint, region, credentials, topicArns: it.stack.sns.topicArns, endpoint: `${intakeUrl}/notifications/sns` })
  for (const arn of again) t.match(arn, /^arn:aws:sns:us-east-1:000000000000:.+:[0-9a-f-]{36}$/, 'confirmed subscriptions')

  const res = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'One sentence here. Another one there. A third to finish.' })
  t.equal(res.status, 202)
  const { id } = (await res.json()) as { id: string }
  await until('the notification', () => woken.includes(id))
  t.equal((await waitForJob(it.baseUrl, id)).status, 'completed')
})
