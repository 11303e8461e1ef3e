/**
 * Jobs mode, one concurrency level: workers POST /models/{m}/jobs back to back (the accept latency is
 * the 202's), and every accepted job is followed to its end with GET /jobs/{id}?wait=60 long-polls,
 * which the gateway answers as soon as it learns that the job ended (README: Waiting, events and
 * webhooks). From that: each job's completion time (202 → the answer saying it ended) and the queue
 * drain time (the first 202 → the last end).
 */
import { costPer1M, distribution, tps } from './stats.js'
import { createAgent, send } from './http.js'
import { runLoop, type Counters, type Limit, type Sample } from './loop.js'
import { measure, type JobsMeasured, type Measured } from './report.js'
import type { RequestBody } from './body.js'

/** The longest wait the gateway grants (`?wait=N`, N ≤ 60). */
const WAIT_SECONDS = 60
/** A long-poll answers within its wait; past this much more it is a failure. */
const FOLLOW_TIMEOUT_MS = (WAIT_SECONDS + 15) * 1000
/** Status reads failing in a row before a job is given up as lost. */
const MAX_FOLLOW_FAILURES = 5
const SUBMIT_TIMEOUT_MS = 120_000
const ENDED = ['completed', 'failed', 'expired', 'canceled'] as const
type Ended = (typeof ENDED)[number]

export interface JobsTarget {
  url: string
  model: string
  headers: Record<string, string>
  body: RequestBody
  pricePerHour?: number
  /** A job still in progress this long after its 202 is counted `unfinished` and no longer followed. */
  followSeconds: number
}

/** A JSON answer's field, or undefined when the body is not the JSON expected. */
function field(body: Buffer | undefined, name: 'id' | 'status'): string | undefined {
  try {
    const value = (JSON.parse(body?.toString() ?? '') as Record<string, unknown>)[name]
    return typeof value === 'string' ? value : undefined
  } catch {
    return undefined
  }
}

interface Followed {
  outcome: Ended | 'lost' | 'unfinished'
  /** performance.now() when the end was known. */
  endedAt: number
  acceptedAt: number
}

async function follow(target: JobsTarget, agent: ReturnType<typeof createAgent>, id: string, acceptedAt: number): Promise<Followed> {
  const giveUpAt = acceptedAt + target.followSeconds * 1000
  let failures = 0
  for (;;) {
    // No wait outlasts the follow time by more than a second.
    const wait = Math.max(1, Math.min(WAIT_SECONDS, Math.ceil((giveUpAt - performance.now()) / 1000)))
    const answer = await send(agent, `${target.url}/jobs/${encodeURIComponent(id)}?wait=${wait}`, {
      method: 'GET',
      headers: target.headers,
      keepBody: true,
      timeoutMs: FOLLOW_TIMEOUT_MS,
    })
    const status = answer.status === 200 ? field(answer.body, 'status') : undefined
    if (status !== undefined && (ENDED as readonly string[]).includes(status)) return { outcome: status as Ended, endedAt: performance.now(), acceptedAt }
    if (performance.now() >= giveUpAt) return { outcome: 'unfinished', endedAt: performance.now(), acceptedAt }
    if (status === 'in_progress') failures = 0
    else if (++failures >= MAX_FOLLOW_FAILURES) return { outcome: 'lost', endedAt: performance.now(), acceptedAt }
    // A failed read is not retried at once: the gateway may be shedding load.
    if (status === undefined) await new Promise((r) => setTimeout(r, 500))
  }
}

/** Runs one level: the workers share one agent (a connection each), the long-polls have their own. */
export async function runJobsLevel(target: JobsTarget, concurrency: number, limit: Limit, counters: Counters): Promise<Measured & JobsMeasured> {
  const submitAgent = createAgent(target.url, concurrency)
  // Every followed job holds a connection for up to a minute: no cap, or a burst would queue its polls.
  const followAgent = createAgent(target.url, Number.POSITIVE_INFINITY)
  const following: Promise<Followed>[] = []
  try {
    // Warm-up: one connection per worker, without creating jobs that would lengthen the drain.
    await Promise.all(Array.from({ length: concurrency }, () => send(submitAgent, `${target.url}/models/${target.model}`, { method: 'GET', headers: target.headers, timeoutMs: 10_000 })))
    const submit = async (): Promise<Sample> => {
      const answer = await send(submitAgent, `${target.url}/models/${target.model}/jobs`, {
        method: 'POST',
        headers: { ...target.headers, 'content-type': target.body.contentType },
        body: target.body.bytes,
        keepBody: true,
        timeoutMs: SUBMIT_TIMEOUT_MS,
      })
      const id = answer.status === 202 ? field(answer.body, 'id') : undefined
      if (id !== undefined)
        following.push(
          follow(target, followAgent, id, performance.now()).then((followed) => {
            counters.ended = (counters.ended ?? 0) + 1
            return followed
          }),
        )
      // A 202 without a job id is not an accepted job.
      return { status: answer.status === 202 && id === undefined ? 0 : answer.status, latencyMs: answer.latencyMs }
    }
    const accepted = await runLoop(concurrency, submit, limit, [202], counters)
    const ended = await Promise.all(following)
    const accepts = measure(accepted, [202])
    const done = ended.filter((e) => e.outcome !== 'lost' && e.outcome !== 'unfinished')
    const completion = distribution(done.map((e) => e.endedAt - e.acceptedAt))
    const drainMs = done.length > 0 ? Math.max(...done.map((e) => e.endedAt)) - Math.min(...ended.map((e) => e.acceptedAt)) : null
    const count = (o: Followed['outcome']) => ended.filter((e) => e.outcome === o).length
    const completedPerSecond = drainMs === null ? 0 : tps(count('completed'), drainMs / 1000)
    return {
      ...accepts,
      ...(target.pricePerHour !== undefined ? { costPer1M: costPer1M(target.pricePerHour, completedPerSecond) } : {}),
      acceptP50Ms: accepts.p50Ms,
      acceptP90Ms: accepts.p90Ms,
      acceptP99Ms: accepts.p99Ms,
      completionP50Ms: completion.p50Ms,
      completionP90Ms: completion.p90Ms,
      completionP99Ms: completion.p99Ms,
      completionMaxMs: completion.maxMs,
      drainSeconds: drainMs === null ? null : drainMs / 1000,
      completedPerSecond,
      completed: count('completed'),
      failed: count('failed'),
      expired: count('expired'),
      canceled: count('canceled'),
      lost: count('lost'),
      unfinished: count('unfinished'),
    }
  } finally {
    submitAgent.destroy()
    followAgent.destroy()
  }
}
