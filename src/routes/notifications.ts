import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Logger } from 'pino'
import { z } from 'zod'
import { noBody, problem, publicProblems, RETRY_AFTER } from '../api/responses.js'
import { errors } from '../errors.js'
import { describeError } from '../lib/describe-error.js'
import { logSafeText } from '../lib/untrusted-text.js'
import { SnsVerificationError, type SnsMessage, type SnsVerifier } from '../services/sns-verify.js'

export interface NotificationRoutesDeps {
  verifier: SnsVerifier
  /** The SNS topics (the async endpoints' SuccessTopic and ErrorTopic) whose messages are taken. */
  topicArns: readonly string[]
  /** A SageMaker async inference ended (completed or failed) for this InferenceId (the job's id). */
  onJobNotification: (jobId: string) => void
  /** GETs a SubscribeURL that the verifier has already checked. */
  confirmSubscription: (subscribeUrl: string) => Promise<void>
  /** For the start-up line; each request logs with its own logger (request id included). */
  logger: Logger
  /** Told of each message's type and what became of it (metrics). */
  onMessage?: (type: string, outcome: 'accepted' | 'ignored' | 'confirmed' | 'refused' | 'topic_not_allowed' | 'unavailable') => void
}

// SNS messages are at most 256 KiB; the envelope adds a little.
const SNS_BODY_LIMIT = 256 * 1024 + 8 * 1024

/** SageMaker's async inference notification (sagemaker-notes: the failure shape is unconfirmed). */
const InferenceNotification = z.looseObject({
  inferenceId: z.string().min(1).max(64),
  invocationStatus: z.enum(['Completed', 'Failed']),
  requestParameters: z.looseObject({}).optional(),
  responseParameters: z.looseObject({}).optional(),
  failureReason: z.string().optional(),
})

const DESCRIPTION = `Amazon SNS posts here (an HTTP(S) subscription of the async endpoints' SuccessTopic and ErrorTopic).
No API key: every message is verified with SNS's own signature instead (the certificate must come from an SNS
host, messages older than an hour are refused). A subscription confirmation is confirmed only for the configured
topics. A notification of a finished async inference wakes whoever waits for that job; the job's status is
still read from S3.`

/** `POST /notifications/sns`: SNS intake (the body is JSON, sent as text/plain by SNS). */
export function notificationRoutes(deps: NotificationRoutesDeps) {
  const topics = new Set(deps.topicArns)
  return async (plain: FastifyInstance) => {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    if (topics.size === 0) deps.logger.info('SNS intake: no topics configured; every notification will be refused')
    else deps.logger.info({ topicArns: [...topics] }, 'SNS intake accepting notifications')
    // Only in this plugin: SNS sends `Content-Type: text/plain; charset=UTF-8` with a JSON body.
    app.removeContentTypeParser(['application/json', 'text/plain'])
    app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string', bodyLimit: SNS_BODY_LIMIT }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string))
      } catch {
        done(errors.badRequest('The body is not JSON.'), undefined)
      }
    })

    app.post(
      '/notifications/sns',
      {
        config: { public: true },
        schema: {
          tags: ['jobs'],
          summary: 'Amazon SNS intake',
          description: DESCRIPTION,
          operationId: 'snsNotification',
          security: [],
          requestBody: { content: { 'text/plain': { schema: z.string().describe('The SNS message envelope, as JSON.') } } },
          response: {
            204: noBody('Taken (also for a notification whose Message is not a SageMaker inference result)'),
            400: problem('Not JSON, or not an SNS message (`bad_request`)'),
            403: problem('Unsigned, forged, stale or from a foreign certificate (`sns_signature_invalid`), or from a topic not configured (`sns_topic_not_allowed`)'),
            503: problem('The signing certificate, or the SubscribeURL, could not be reached; SNS retries (`upstream_unavailable`)', RETRY_AFTER),
            ...publicProblems,
          },
        },
      },
      async (request, reply) => {
        const message = await verified(deps, request.body, request.log as unknown as Logger)
        const told = (outcome: Parameters<NonNullable<NotificationRoutesDeps['onMessage']>>[1]) => deps.onMessage?.(message.Type, outcome)
        const where = { snsType: message.Type, topicArn: message.TopicArn, messageId: message.MessageId }
        if (message.Type === 'UnsubscribeConfirmation') {
          request.log.info(where, 'SNS subscription ended')
          told('accepted')
          return reply.code(204).send()
        }
        if (!topics.has(message.TopicArn)) {
          request.log.warn(where, 'SNS message from a topic not configured; refused')
          told('topic_not_allowed')
          throw errors.snsTopicNotAllowed()
        }
        if (message.Type === 'SubscriptionConfirmation') {
          await deps.confirmSubscription(message.SubscribeURL).catch((err: unknown) => {
            told('unavailable')
            throw errors.upstreamUnavailable('The SNS SubscribeURL', 5, err)
          })
          request.log.info(where, 'SNS subscription confirmed')
          told('confirmed')
          return reply.code(204).send()
        }
        told(takeNotification(deps, message.Message, where, request.log as unknown as Logger) ? 'accepted' : 'ignored')
        return reply.code(204).send()
      },
    )
  }
}

async function verified(deps: NotificationRoutesDeps, body: unknown, log: Logger): Promise<SnsMessage> {
  try {
    return await deps.verifier.verify(body)
  } catch (err) {
    if (!(err instanceof SnsVerificationError)) throw err
    log.warn({ reason: err.reason, error: describeError(err) }, 'SNS message refused')
    const type = typeof (body as { Type?: unknown } | null)?.Type === 'string' ? logSafeText((body as { Type: string }).Type, 40) : 'unknown'
    deps.onMessage?.(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'].includes(type) ? type : 'unknown', err.reason === 'certificate_unavailable' ? 'unavailable' : 'refused')
    if (err.reason === 'malformed') throw errors.badRequest(err.message)
    // A certificate that could not be fetched says nothing about the message: SNS retries a 5xx.
    if (err.reason === 'certificate_unavailable') throw errors.upstreamUnavailable('The SNS signing certificate', 5, err)
    throw errors.snsSignatureInvalid(err.message)
  }
}

/**
 * Acknowledged whatever its Message holds: the message is SNS's, from a configured topic, and an
 * error answer would only make SNS deliver it again and again.
 */
function takeNotification(deps: NotificationRoutesDeps, text: string, where: Record<string, string>, log: Logger): boolean {
  let parsed: z.infer<typeof InferenceNotification> | undefined
  try {
    const result = InferenceNotification.safeParse(JSON.parse(text))
    parsed = result.success ? result.data : undefined
  } catch {
    parsed = undefined
  }
  if (parsed === undefined) {
    log.warn({ ...where, message: logSafeText(text, 200) }, 'SNS notification is not a SageMaker inference result; ignored')
    return false
  }
  log.info({ ...where, inferenceId: logSafeText(parsed.inferenceId, 64), invocationStatus: parsed.invocationStatus }, 'SageMaker async inference ended')
  try {
    deps.onJobNotification(parsed.inferenceId)
  } catch (err) {
    // Waking a waiter is best effort: the job's status is read from S3 anyway.
    log.error({ ...where, error: describeError(err) }, 'job notification handler failed')
  }
  return true
}
