import { randomBytes, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { writeAtomically } from './certificate.js'

/** One HTTP(S) subscription of the local SNS (Subscribe → pending, ConfirmSubscription → confirmed). */
export interface Subscription {
  subscriptionArn: string
  topicArn: string
  protocol: 'http' | 'https'
  endpoint: string
  /** The confirmation token sent in the SubscriptionConfirmation (and its SubscribeURL). */
  token: string
  confirmed: boolean
}

export interface SubscriptionStore {
  /** AWS: subscribing an endpoint already subscribed to the topic gives back the same subscription. */
  subscribe(topicArn: string, protocol: 'http' | 'https', endpoint: string): Promise<Subscription>
  /** The subscription confirmed by this token, or undefined when no subscription of the topic has it. */
  confirm(topicArn: string, token: string): Promise<Subscription | undefined>
  unsubscribe(subscriptionArn: string): Promise<Subscription | undefined>
  byTopic(topicArn: string): Subscription[]
}

const FILE = 'subscriptions.json'

/** Subscriptions in memory, written to `<dir>/subscriptions.json` after each change (when there is a dir). */
export async function openSubscriptionStore(dir: string | undefined, logger: Logger): Promise<SubscriptionStore> {
  let all: Subscription[] = []
  if (dir !== undefined) {
    try {
      all = (JSON.parse(await readFile(join(dir, FILE), 'utf8')) as { subscriptions: Subscription[] }).subscriptions
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') logger.warn({ err }, 'local SNS subscriptions unreadable; starting with none')
    }
  }
  // Writes one after another, each with the state as it is then.
  let saving: Promise<void> = Promise.resolve()
  const save = (): Promise<void> => {
    if (dir === undefined) return Promise.resolve()
    saving = saving.then(() => writeAtomically(join(dir, FILE), `${JSON.stringify({ subscriptions: all }, null, 2)}\n`, 0o600))
    return saving
  }

  return {
    async subscribe(topicArn, protocol, endpoint) {
      const known = all.find((s) => s.topicArn === topicArn && s.endpoint === endpoint && s.protocol === protocol)
      if (known !== undefined) return known
      // SNS tokens are long hex strings; this one is as unguessable.
      const sub: Subscription = { subscriptionArn: `${topicArn}:${randomUUID()}`, topicArn, protocol, endpoint, token: randomBytes(64).toString('hex'), confirmed: false }
      all.push(sub)
      await save()
      return sub
    },
    async confirm(topicArn, token) {
      const sub = all.find((s) => s.topicArn === topicArn && s.token === token)
      if (sub === undefined) return undefined
      if (!sub.confirmed) {
        sub.confirmed = true
        await save()
      }
      return sub
    },
    async unsubscribe(subscriptionArn) {
      const sub = all.find((s) => s.subscriptionArn === subscriptionArn)
      if (sub === undefined) return undefined
      all = all.filter((s) => s !== sub)
      await save()
      return sub
    },
    byTopic: (topicArn) => all.filter((s) => s.topicArn === topicArn),
  }
}
