import type { Webhook } from 'standardwebhooks'
import type { JobView } from './job-record.js'

/**
 * One signed Standard Webhooks message: the payload in the specification's recommended shape
 * (`type`, `timestamp`, `data`) and the three webhook-* headers. The payload's timestamp is the
 * delivery's first attempt, so every retry sends the same body; webhook-timestamp is this
 * attempt's, since receivers reject old ones to stop replays. The signature is a header the log
 * never sees.
 */
export function signedMessage(signer: Webhook, o: { webhookId: string; view: JobView; firstAttemptAt: string; sentAt: Date }) {
  const payload = JSON.stringify({ type: `job.${o.view.status}`, timestamp: o.firstAttemptAt, data: o.view })
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'sagegate-webhooks',
    'webhook-id': o.webhookId,
    'webhook-timestamp': String(Math.floor(o.sentAt.getTime() / 1000)),
    'webhook-signature': signer.sign(o.webhookId, o.sentAt, payload),
  }
  return { payload, headers }
}
