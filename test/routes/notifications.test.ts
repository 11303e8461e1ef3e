import pino from 'pino'
import t, { type Test } from 'tap'
import { createSigningCertificate } from '../../src/local/sns/certificate.js'
import { signEnvelope, type EnvelopeFields } from '../../src/local/sns/envelope.js'
import { notificationRoutes } from '../../src/routes/notifications.js'
import { createSnsVerifier } from '../../src/services/sns-verify.js'
import { bareApp } from '../helpers/bare-app.js'

const cert = createSigningCertificate()
const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem'
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:text-ep-success'
const SNS_HEADERS = { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }

const sign = (fields: EnvelopeFields) => signEnvelope(fields, { privateKey: cert.privateKey, certificateUrl: CERT_URL }, '2')
const result = (inferenceId: string) =>
  JSON.stringify({
    awsRegion: 'us-east-1',
    eventTime: new Date().toISOString(),
    receivedTime: new Date().toISOString(),
    invocationStatus: 'Completed',
    requestParameters: { contentType: 'text/plain', endpointName: 'text-ep', inputLocation: 's3://b/in' },
    responseParameters: { contentType: 'application/json', outputLocation: 's3://b/out' },
    inferenceId,
    eventVersion: '1.0',
    eventSource: 'aws:sagemaker',
    eventName: 'InferenceResult',
  })

async function setup(t: Test, options: { confirm?: (url: string) => Promise<void> } = {}) {
  const app = bareApp()
  const jobs: string[] = []
  const confirmed: string[] = []
  const logger = pino({ level: 'silent' })
  await app.register(
    notificationRoutes({
      verifier: createSnsVerifier({ logger, fetchCertificate: async () => cert.certificatePem }),
      topicArns: [TOPIC],
      onJobNotification: (id) => jobs.push(id),
      confirmSubscription: options.confirm ?? (async (url) => void confirmed.push(url)),
      logger,
    }),
  )
  t.teardown(() => app.close())
  const post = (body: unknown, headers: Record<string, string> = SNS_HEADERS) =>
    app.inject({ method: 'POST', url: '/notifications/sns', headers, payload: typeof body === 'string' ? body : JSON.stringify(body) })
  return { post, jobs, confirmed }
}

t.test('a signed inference result from a configured topic wakes its job', async (t) => {
  const { post, jobs } = await setup(t)
  const res = await post(sign({ Type: 'Notification', TopicArn: TOPIC, Message: result('job-1') }))
  t.equal(res.statusCode, 204)
  t.same(jobs, ['job-1'])
  const asJson = await post(sign({ Type: 'Notification', TopicArn: TOPIC, Message: result('job-2') }), { 'content-type': 'application/json' })
  t.equal(asJson.statusCode, 204)
  t.same(jobs, ['job-1', 'job-2'])
})

t.test('a forged message is a 403 problem', async (t) => {
  const { post, jobs } = await setup(t)
  const res = await post({ ...sign({ Type: 'Notification', TopicArn: TOPIC, Message: result('job-1') }), Message: result('other') })
  t.equal(res.statusCode, 403)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(res.json().code, 'sns_signature_invalid')
  t.same(jobs, [])
})

t.test('an unsigned message is a 403 problem', async (t) => {
  const { post } = await setup(t)
  const { Signature: _s, ...unsigned } = sign({ Type: 'Notification', TopicArn: TOPIC, Message: result('job-1') })
  const res = await post(unsigned)
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'sns_signature_invalid')
})

t.test('a body that is not JSON is a 400', async (t) => {
  const { post } = await setup(t)
  const res = await post('not json')
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'bad_request')
})

t.test('a notification from another topic is a 403', async (t) => {
  const { post, jobs } = await setup(t)
  const res = await post(sign({ Type: 'Notification', TopicArn: `${TOPIC}-other`, Message: result('job-1') }))
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'sns_topic_not_allowed')
  t.same(jobs, [])
})

t.test('a subscription confirmation is confirmed for a configured topic only', async (t) => {
  const { post, confirmed } = await setup(t)
  const url = `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=tok`
  const ok = await post(sign({ Type: 'SubscriptionConfirmation', TopicArn: TOPIC, Message: 'confirm', SubscribeURL: url, Token: 'tok' }))
  t.equal(ok.statusCode, 204)
  t.same(confirmed, [url])
  const other = await post(sign({ Type: 'SubscriptionConfirmation', TopicArn: `${TOPIC}-other`, Message: 'confirm', SubscribeURL: url, Token: 'tok' }))
  t.equal(other.statusCode, 403)
  t.equal(other.json().code, 'sns_topic_not_allowed')
  t.same(confirmed, [url])
})

t.test('a SubscribeURL off SNS hosts is never fetched', async (t) => {
  const { post, confirmed } = await setup(t)
  const res = await post(sign({ Type: 'SubscriptionConfirmation', TopicArn: TOPIC, Message: 'c', SubscribeURL: 'https://evil.example/?Token=1', Token: '1' }))
  t.equal(res.statusCode, 403)
  t.same(confirmed, [])
})

t.test('a confirmation that cannot be made is a 503, so SNS retries', async (t) => {
  const { post } = await setup(t, { confirm: async () => Promise.reject(new Error('ECONNRESET')) })
  const url = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok'
  const res = await post(sign({ Type: 'SubscriptionConfirmation', TopicArn: TOPIC, Message: 'c', SubscribeURL: url, Token: 'tok' }))
  t.equal(res.statusCode, 503)
  t.ok(res.headers['retry-after'])
})

t.test('a notification that is not an inference result is acknowledged and ignored', async (t) => {
  const { post, jobs } = await setup(t)
  const res = await post(sign({ Type: 'Notification', TopicArn: TOPIC, Message: 'hello' }))
  t.equal(res.statusCode, 204)
  t.same(jobs, [])
})

t.test('an unsubscribe confirmation is acknowledged', async (t) => {
  const { post } = await setup(t)
  const url = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok'
  const res = await post(sign({ Type: 'UnsubscribeConfirmation', TopicArn: TOPIC, Message: 'bye', SubscribeURL: url, Token: 'tok' }))
  t.equal(res.statusCode, 204)
})
