import type { Logger } from 'pino'
import { describeError } from '../../lib/describe-error.js'
import { sleep } from '../../lib/sleep.js'
import type { SnsEnvelope } from './envelope.js'

export interface DeliveryOptions {
  logger: Logger
  /** Tries per message, the first included; default 4. */
  attempts?: number
  /** Wait before the first retry, doubled each time; default 500 ms. */
  initialDelayMs?: number
  /** Deadline of one POST; default 15 s (SNS's own HTTP timeout). */
  timeoutMs?: number
}

export interface Delivery {
  /** Starts delivering in the background (never awaited by the caller: the job queue does not wait). */
  send(endpoint: string, envelope: SnsEnvelope): void
  /** Stops retries and in-flight POSTs. */
  close(): Promise<void>
}

/**
 * HTTP(S) delivery as SNS does it: a POST of the JSON envelope sent as `text/plain; charset=UTF-8`,
 * with the `x-amz-sns-*` headers; any answer other than 2xx, or none in time, is retried with a
 * doubling delay (SNS's default HTTP policy retries longer; the local stack keeps it short).
 */
export function createDelivery(options: DeliveryOptions): Delivery {
  const attempts = options.attempts ?? 4
  const initialDelayMs = options.initialDelayMs ?? 500
  const timeoutMs = options.timeoutMs ?? 15_000
  const closing = new AbortController()
  const inFlight = new Set<Promise<void>>()

  async function deliver(endpoint: string, envelope: SnsEnvelope): Promise<void> {
    const where = { endpoint, snsType: envelope.Type, topicArn: envelope.TopicArn, messageId: envelope.MessageId }
    for (let attempt = 1; attempt <= attempts && !closing.signal.aborted; attempt++) {
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'text/plain; charset=UTF-8',
            'x-amz-sns-message-type': envelope.Type,
            'x-amz-sns-message-id': envelope.MessageId,
            'x-amz-sns-topic-arn': envelope.TopicArn,
            'user-agent': 'Amazon Simple Notification Service Agent',
          },
          body: JSON.stringify(envelope),
          redirect: 'manual',
          signal: AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]),
        })
        await res.arrayBuffer().catch(() => undefined)
        if (res.status >= 200 && res.status < 300) {
          options.logger.debug({ ...where, attempt }, 'SNS message delivered')
          return
        }
        options.logger.warn({ ...where, attempt, status: res.status }, 'SNS delivery refused by the subscriber')
      } catch (err) {
        if (closing.signal.aborted) return
        options.logger.warn({ ...where, attempt, error: describeError(err) }, 'SNS delivery failed')
      }
      if (attempt < attempts) await sleep(initialDelayMs * 2 ** (attempt - 1), closing.signal).catch(() => undefined)
    }
    if (!closing.signal.aborted) options.logger.error(where, 'SNS delivery given up')
  }

  return {
    send(endpoint, envelope) {
      const p = deliver(endpoint, envelope)
      inFlight.add(p)
      void p.finally(() => inFlight.delete(p))
    },
    async close() {
      closing.abort()
      await Promise.allSettled([...inFlight])
    },
  }
}
