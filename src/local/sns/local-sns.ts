import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { RequestContext, Router } from '../runtime/router.js'
import { loadOrCreateSigningCertificate, type SigningCertificate } from './certificate.js'
import { createDelivery, type DeliveryOptions } from './delivery.js'
import { signEnvelope, type EnvelopeFields } from './envelope.js'
import { el } from '../s3/xml.js'
import { queryErrors, required, sendQueryError, sendResult, signedParams, SnsQueryError } from './query-api.js'
import { openSubscriptionStore, type Subscription, type SubscriptionStore } from './subscriptions.js'

/** Where the local SNS serves its signing certificate (the envelopes' SigningCertURL). */
export const LOCAL_SNS_CERTIFICATE_PATH = '/SimpleNotificationService-local.pem'

export interface LocalSnsOptions {
  region: string
  /** The topics that exist (the async endpoints' success and error topics). */
  topicArns: readonly string[]
  credentials: ReadonlyArray<{ accessKeyId: string; secretAccessKey: string }>
  /** Signing key, certificate and subscriptions are kept here; without it they live in memory. */
  stateDir?: string
  logger: Logger
  /** Default '2' (SHA256withRSA); AWS's own default is '1'. */
  signatureVersion?: '1' | '2'
  delivery?: Omit<DeliveryOptions, 'logger'>
}

export interface LocalSns {
  /** The server's base URL, known once it listens: SigningCertURL, SubscribeURL and UnsubscribeURL use it. */
  setBaseUrl(url: string): void
  /** Adds the certificate, the Query API (`POST /`) and the unsigned confirmation links (`GET /`). */
  register(router: Router): void
  /** Publishes to every confirmed subscriber of the topic, in the background; the MessageId. */
  publish(topicArn: string, message: string, subject?: string): string
  close(): Promise<void>
}

/**
 * A local Amazon SNS for HTTP(S) subscribers, served by the local runtime's own server: Subscribe,
 * ConfirmSubscription, Unsubscribe, ListSubscriptionsByTopic and Publish on fixed topics, with
 * envelopes signed by a local certificate exactly as SNS signs them.
 */
export async function createLocalSns(options: LocalSnsOptions): Promise<LocalSns> {
  const dir = options.stateDir === undefined ? undefined : join(options.stateDir, 'sns')
  const cert: SigningCertificate = await loadOrCreateSigningCertificate(dir)
  const store: SubscriptionStore = await openSubscriptionStore(dir, options.logger)
  const delivery = createDelivery({ logger: options.logger, ...options.delivery })
  const topics = new Set(options.topicArns)
  const secrets = new Map(options.credentials.map((c) => [c.accessKeyId, c.secretAccessKey]))
  const version = options.signatureVersion ?? '2'
  let baseUrl = ''

  const link = (params: Record<string, string>) => `${baseUrl}/?${new URLSearchParams(params).toString()}`
  const subscribeUrl = (s: Subscription) => link({ Action: 'ConfirmSubscription', TopicArn: s.topicArn, Token: s.token })
  const send = (s: Subscription, fields: EnvelopeFields) => {
    const envelope = signEnvelope(fields, { privateKey: cert.privateKey, certificateUrl: `${baseUrl}${LOCAL_SNS_CERTIFICATE_PATH}` }, version)
    delivery.send(s.endpoint, envelope)
  }

  const knownTopic = (params: URLSearchParams): string => {
    const topicArn = required(params, 'TopicArn')
    if (!topics.has(topicArn)) throw queryErrors.notFound('Topic does not exist')
    return topicArn
  }

  function publish(topicArn: string, message: string, subject?: string): string {
    const messageId = randomUUID()
    for (const s of store.byTopic(topicArn)) {
      if (!s.confirmed) continue
      const unsubscribe = link({ Action: 'Unsubscribe', SubscriptionArn: s.subscriptionArn })
      send(s, { Type: 'Notification', TopicArn: topicArn, Message: message, MessageId: messageId, UnsubscribeURL: unsubscribe, ...(subject !== undefined ? { Subject: subject } : {}) })
    }
    return messageId
  }

  async function confirm(ctx: RequestContext, params: URLSearchParams): Promise<void> {
    const sub = await store.confirm(knownTopic(params), required(params, 'Token'))
    if (sub === undefined) throw queryErrors.invalidParameter('Invalid token')
    options.logger.info({ subscriptionArn: sub.subscriptionArn, endpoint: sub.endpoint }, 'local SNS subscription confirmed')
    sendResult(ctx, 'ConfirmSubscription', el('SubscriptionArn', sub.subscriptionArn))
  }

  async function unsubscribe(ctx: RequestContext, params: URLSearchParams): Promise<void> {
    const sub = await store.unsubscribe(required(params, 'SubscriptionArn'))
    if (sub === undefined) throw queryErrors.notFound('Subscription does not exist')
    // SNS tells the endpoint, with a SubscribeURL that would restore the subscription.
    if (sub.confirmed) {
      const message = `You have chosen to deactivate subscription ${sub.subscriptionArn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`
      send(sub, { Type: 'UnsubscribeConfirmation', TopicArn: sub.topicArn, Message: message, SubscribeURL: subscribeUrl(sub), Token: sub.token })
    }
    sendResult(ctx, 'Unsubscribe', undefined)
  }

  const actions: Record<string, (ctx: RequestContext, params: URLSearchParams) => Promise<void>> = {
    async Subscribe(ctx, params) {
      const topicArn = knownTopic(params)
      const protocol = required(params, 'Protocol')
      const endpoint = required(params, 'Endpoint')
      if (protocol !== 'http' && protocol !== 'https') throw queryErrors.invalidParameter('Invalid parameter: Protocol (this local SNS delivers over http and https only)')
      if (!endpoint.startsWith(`${protocol}://`) || !URL.canParse(endpoint)) throw queryErrors.invalidParameter('Invalid parameter: Endpoint must match the specified protocol')
      const sub = await store.subscribe(topicArn, protocol, endpoint)
      if (!sub.confirmed) {
        const message = `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`
        send(sub, { Type: 'SubscriptionConfirmation', TopicArn: topicArn, Message: message, SubscribeURL: subscribeUrl(sub), Token: sub.token })
      }
      const arn = sub.confirmed || params.get('ReturnSubscriptionArn') === 'true' ? sub.subscriptionArn : 'pending confirmation'
      sendResult(ctx, 'Subscribe', el('SubscriptionArn', arn))
    },
    ConfirmSubscription: confirm,
    Unsubscribe: unsubscribe,
    async ListSubscriptionsByTopic(ctx, params) {
      const members = store.byTopic(knownTopic(params)).map(
        (s) =>
          `<member>${el('TopicArn', s.topicArn)}${el('Protocol', s.protocol)}${el('SubscriptionArn', s.confirmed ? s.subscriptionArn : 'PendingConfirmation')}${el('Owner', s.topicArn.split(':')[4] ?? '')}${el('Endpoint', s.endpoint)}</member>`,
      )
      sendResult(ctx, 'ListSubscriptionsByTopic', `<Subscriptions>${members.join('')}</Subscriptions>`)
    },
    async Publish(ctx, params) {
      const topicArn = knownTopic(params)
      const message = required(params, 'Message')
      const subject = params.get('Subject') ?? undefined
      sendResult(ctx, 'Publish', el('MessageId', publish(topicArn, message, subject)))
    },
  }

  /** Query errors are answered as XML; anything else is logged and is an InternalError. */
  const guarded = (handler: (ctx: RequestContext) => Promise<void>) => async (ctx: RequestContext) => {
    try {
      await handler(ctx)
    } catch (err) {
      if (!(err instanceof SnsQueryError)) options.logger.error({ err, requestId: ctx.requestId }, 'local SNS request failed')
      if (!ctx.req.complete) {
        ctx.res.setHeader('Connection', 'close')
        ctx.req.resume()
      }
      sendQueryError(ctx, err instanceof SnsQueryError ? err : new SnsQueryError(500, 'InternalError', 'An internal failure occurred.'))
    }
  }

  return {
    setBaseUrl(url) {
      baseUrl = url
    },
    register(router) {
      router.add('GET', LOCAL_SNS_CERTIFICATE_PATH, async ({ res }) => {
        res.writeHead(200, { 'Content-Type': 'application/x-pem-file', 'Content-Length': String(Buffer.byteLength(cert.certificatePem)) })
        res.end(cert.certificatePem)
      })
      router.add(
        'POST',
        '/',
        guarded(async (ctx) => {
          const params = await signedParams(ctx.req, { region: options.region, secrets })
          const action = required(params, 'Action')
          const handler = actions[action]
          if (handler === undefined || !Object.hasOwn(actions, action)) throw queryErrors.invalidAction(action)
          await handler(ctx, params)
        }),
      )
      // The links SNS puts in its messages (SubscribeURL, UnsubscribeURL) work unsigned, as on AWS: the token, or the
      // subscription ARN's random part, is the secret.
      router.add(
        'GET',
        '/',
        guarded(async (ctx) => {
          const raw = ctx.req.url ?? '/'
          const params = new URLSearchParams(raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '')
          const action = required(params, 'Action')
          if (action === 'ConfirmSubscription') return confirm(ctx, params)
          if (action === 'Unsubscribe') return unsubscribe(ctx, params)
          throw new SnsQueryError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token')
        }),
      )
    },
    publish,
    close: () => delivery.close(),
  }
}
