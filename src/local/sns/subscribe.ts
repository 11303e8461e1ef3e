import { signQueryPost } from './sign-request.js'

export interface SubscribeLocalTopicsOptions {
  /** The local SNS's base URL (LocalStackInfo.sns.endpoint). */
  url: string
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  topicArns: readonly string[]
  /** The subscriber: http(s) URL of the gateway's `POST /notifications/sns`. */
  endpoint: string
  timeoutMs?: number
  /**
   * Remove the topics' other subscriptions first (npm start: one gateway per data dir, so a
   * subscription of an earlier start on another port would only collect failed deliveries).
   */
  exclusive?: boolean
}

/** One signed SNS Query call; the answer's XML. */
async function query(options: SubscribeLocalTopicsOptions, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ ...params, Version: '2010-03-31' }).toString()
  const url = `${options.url.replace(/\/+$/, '')}/`
  const headers = signQueryPost({ url, body, region: options.region, service: 'sns', credentials: options.credentials })
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) })
  const text = await res.text()
  if (!res.ok) throw new Error(`SNS ${params.Action} on ${params.TopicArn ?? params.SubscriptionArn} failed (${res.status}): ${/<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200)}`)
  return text
}

/**
 * Subscribes `endpoint` to each topic with a signed SNS `Subscribe` call; each answers with the
 * subscription's ARN once confirmed, else `pending confirmation` (the confirmation then arrives at the
 * endpoint). Calling it again is harmless: SNS gives back the existing subscription, and re-sends the
 * confirmation while it is pending.
 */
export async function subscribeLocalTopics(options: SubscribeLocalTopicsOptions): Promise<string[]> {
  const protocol = new URL(options.endpoint).protocol.replace(':', '')
  const arns: string[] = []
  for (const topicArn of options.topicArns) {
    if (options.exclusive === true) {
      const listed = await query(options, { Action: 'ListSubscriptionsByTopic', TopicArn: topicArn })
      for (const m of listed.matchAll(/<member>.*?<SubscriptionArn>([^<]*)<\/SubscriptionArn>.*?<Endpoint>([^<]*)<\/Endpoint>.*?<\/member>/gs)) {
        const [, arn = '', endpoint = ''] = m
        if (endpoint !== options.endpoint && arn.startsWith('arn:')) await query(options, { Action: 'Unsubscribe', SubscriptionArn: arn })
      }
    }
    const text = await query(options, { Action: 'Subscribe', TopicArn: topicArn, Protocol: protocol, Endpoint: options.endpoint })
    arns.push(/<SubscriptionArn>([^<]*)<\/SubscriptionArn>/.exec(text)?.[1] ?? '')
  }
  return arns
}
