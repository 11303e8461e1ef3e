import pino from 'pino'
import t, { type Test } from 'tap'
import { createSigningCertificate } from '../../src/local/sns/certificate.js'
import { signEnvelope, type EnvelopeFields } from '../../src/local/sns/envelope.js'
import { createSnsVerifier, MAX_MESSAGE_AGE_MS, SnsVerificationError, type SnsRejection } from '../../src/services/sns-verify.js'

const cert = createSigningCertificate()
const other = createSigningCertificate()
const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem'
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:video-frames-async-success'
const notification: EnvelopeFields = { Type: 'Notification', TopicArn: TOPIC, Message: '{"inferenceId":"abc"}', Subject: 'done' }

function setup(pemFor: (url: string) => string = () => cert.certificatePem) {
  const fetched: string[] = []
  const verifier = createSnsVerifier({
    logger: pino({ level: 'silent' }),
    fetchCertificate: async (url) => {
      fetched.push(url)
      return pemFor(url)
    },
  })
  return { verifier, fetched }
}

const signed = (fields: EnvelopeFields, version: '1' | '2' = '2', nowMs = Date.now()) =>
  signEnvelope(fields, { privateKey: cert.privateKey, certificateUrl: CERT_URL }, version, nowMs)

async function rejection(t: Test, p: Promise<unknown>, reason: SnsRejection) {
  const err = await p.then(() => undefined, (e: unknown) => e)
  t.type(err, SnsVerificationError)
  t.equal((err as SnsVerificationError).reason, reason)
}

t.test('accepts SignatureVersion 1 and 2 and fetches the certificate once', async (t) => {
  const { verifier, fetched } = setup()
  const v1 = await verifier.verify(signed(notification, '1'))
  const v2 = await verifier.verify(signed({ ...notification, Subject: undefined } as EnvelopeFields, '2'))
  t.equal(v1.Type, 'Notification')
  t.equal(v2.Message, notification.Message)
  t.same(fetched, [CERT_URL])
})

t.test('accepts a subscription confirmation on an SNS SubscribeURL', async (t) => {
  const { verifier } = setup()
  const url = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=tok'
  const m = await verifier.verify(signed({ Type: 'SubscriptionConfirmation', TopicArn: TOPIC, Message: 'confirm', SubscribeURL: url, Token: 'tok' }))
  t.equal(m.Type, 'SubscriptionConfirmation')
})

t.test('refuses a tampered field', async (t) => {
  const { verifier } = setup()
  for (const [key, value] of [['Message', '{"inferenceId":"other"}'], ['TopicArn', `${TOPIC}x`], ['Subject', 'changed']] as const) {
    await rejection(t, verifier.verify({ ...signed(notification), [key]: value }), 'bad_signature')
  }
})

t.test('refuses a message signed by another key', async (t) => {
  const { verifier } = setup(() => other.certificatePem)
  await rejection(t, verifier.verify(signed(notification)), 'bad_signature')
})

t.test('refuses a certificate URL off SNS hosts without fetching it', async (t) => {
  const { verifier, fetched } = setup()
  for (const url of [
    'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem',
    'http://sns.us-east-1.amazonaws.com/cert.pem',
    'https://evil.example/sns.us-east-1.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com/cert.txt',
    'https://user@sns.us-east-1.amazonaws.com/cert.pem',
    'https://sns.us-east-1.amazonaws.com:8443/cert.pem',
  ]) {
    await rejection(t, verifier.verify({ ...signed(notification), SigningCertURL: url }), 'untrusted_url')
  }
  t.same(fetched, [])
})

t.test('refuses a confirmation whose SubscribeURL is not SNS', async (t) => {
  const { verifier, fetched } = setup()
  const m = signed({ Type: 'SubscriptionConfirmation', TopicArn: TOPIC, Message: 'c', SubscribeURL: 'https://evil.example/?Token=1', Token: '1' })
  await rejection(t, verifier.verify(m), 'untrusted_url')
  t.same(fetched, [])
})

t.test('trusts exactly the given local certificate URL', async (t) => {
  const local = 'http://127.0.0.1:9/SimpleNotificationService-local.pem'
  const verifier = createSnsVerifier({ logger: pino({ level: 'silent' }), trustedCertificateUrls: [local], fetchCertificate: async () => cert.certificatePem })
  const m = signEnvelope(notification, { privateKey: cert.privateKey, certificateUrl: local }, '2')
  t.equal((await verifier.verify(m)).Type, 'Notification')
  await rejection(t, verifier.verify({ ...m, SigningCertURL: 'http://127.0.0.1:9/other.pem' }), 'untrusted_url')
  t.ok(verifier.isAllowedSubscribeUrl('http://127.0.0.1:9/?Action=ConfirmSubscription'))
  t.notOk(verifier.isAllowedSubscribeUrl('http://127.0.0.1:10/?Action=ConfirmSubscription'))
})

t.test('refuses a message older than an hour (replay)', async (t) => {
  const { verifier } = setup()
  await rejection(t, verifier.verify(signed(notification, '2', Date.now() - MAX_MESSAGE_AGE_MS - 1000)), 'stale')
})

t.test('refuses a message without a signature', async (t) => {
  const { verifier } = setup()
  const { Signature: _s, ...unsigned } = signed(notification)
  await rejection(t, verifier.verify(unsigned), 'unsigned')
  await rejection(t, verifier.verify({ ...signed(notification), SignatureVersion: '3' }), 'unsigned')
})

t.test('refuses what is not an SNS envelope', async (t) => {
  const { verifier } = setup()
  await rejection(t, verifier.verify('text'), 'malformed')
  const { TopicArn: _a, ...noTopic } = signed(notification)
  await rejection(t, verifier.verify(noTopic), 'malformed')
})

t.test('an unreachable certificate is unavailable, and not cached', async (t) => {
  let fail = true
  const verifier = createSnsVerifier({
    logger: pino({ level: 'silent' }),
    fetchCertificate: async () => {
      if (fail) throw new Error('ECONNREFUSED')
      return cert.certificatePem
    },
  })
  await rejection(t, verifier.verify(signed(notification)), 'certificate_unavailable')
  fail = false
  t.equal((await verifier.verify(signed(notification))).Type, 'Notification')
})
