/**
 * Runs a load test: for each concurrency level, a warm-up (unmeasured), then the measured loop
 * against the gateway and, with a direct target, the same loop against the SageMaker endpoint right
 * after it, level by level (so both see the machine in nearly the same state).
 */
import type { RequestBody } from './body.js'
import { createDirect, type DirectTarget } from './direct.js'
import { authHeaders, createAgent, send, type Agent } from './http.js'
import { runJobsLevel } from './jobs.js'
import { runLoop, type Counters, type Limit, type Sample } from './loop.js'
import { silentProgress, type Progress } from './progress.js'
import type { LoadTestOptions } from './options.js'
import { measure, withComparison, type Level, type Measured, type Report } from './report.js'

/**
 * The parsed command line's load settings (options.ts), with the body read and the direct target
 * resolved. warmupSeconds (predict): unmeasured requests before each level and path (0: none).
 */
export interface RunOptions
  extends Pick<LoadTestOptions, 'url' | 'model' | 'mode' | 'concurrency' | 'durationSeconds' | 'requests' | 'warmupSeconds' | 'apiKey' | 'pricePerHour'> {
  body: RequestBody
  /** jobs: how long after its 202 a job is followed (default 900 s). */
  followSeconds?: number
  /** predict: also measure the same load sent straight to this endpoint. */
  direct?: DirectTarget
}

/** A predict call that hangs this long is counted as status 0 and the worker goes on. */
const PREDICT_TIMEOUT_MS = 120_000

const limitOf = (o: RunOptions): Limit => (o.requests !== undefined ? { requests: o.requests } : { durationSeconds: o.durationSeconds ?? 10 })

function predictCall(o: RunOptions, agent: Agent): () => Promise<Sample> {
  const url = `${o.url}/models/${o.model}/predict`
  const headers = { ...authHeaders(o.apiKey), 'content-type': o.body.contentType }
  return async () => {
    const answer = await send(agent, url, { method: 'POST', headers, body: o.body.bytes, timeoutMs: PREDICT_TIMEOUT_MS })
    return { status: answer.status, latencyMs: answer.latencyMs }
  }
}

/** Warm-up (connections opened, a multi-model endpoint's model loaded), then the measured loop. */
async function measured(o: RunOptions, concurrency: number, call: () => Promise<Sample>, label: string, progress: Progress): Promise<Measured> {
  if (o.warmupSeconds > 0) {
    const warming: Counters = { done: 0, errors: 0 }
    progress.begin(`${label} warm-up`, warming)
    await runLoop(concurrency, call, { durationSeconds: o.warmupSeconds }, [200], warming)
    progress.end()
  }
  const counters: Counters = { done: 0, errors: 0 }
  progress.begin(label, counters)
  const result = await runLoop(concurrency, call, limitOf(o), [200], counters)
  progress.end()
  return measure(result, [200], o.pricePerHour)
}

async function predictLevel(o: RunOptions, concurrency: number, progress: Progress): Promise<Level> {
  const agent = createAgent(o.url, concurrency)
  let gateway: Measured
  try {
    gateway = await measured(o, concurrency, predictCall(o, agent), `gateway c=${concurrency}`, progress)
  } finally {
    agent.destroy()
  }
  if (o.direct === undefined) return { concurrency, ...gateway }
  const direct = createDirect(o.direct, o.body, concurrency)
  try {
    const reference = await measured(o, concurrency, direct.call, `direct c=${concurrency}`, progress)
    return { concurrency, ...gateway, ...withComparison(gateway, reference) }
  } finally {
    direct.close()
  }
}

async function jobsLevel(o: RunOptions, concurrency: number, progress: Progress): Promise<Level> {
  const counters: Counters = { done: 0, errors: 0, ended: 0 }
  progress.begin(`jobs c=${concurrency}`, counters)
  try {
    const target = { url: o.url, model: o.model, headers: authHeaders(o.apiKey), body: o.body, followSeconds: o.followSeconds ?? 900, ...(o.pricePerHour !== undefined ? { pricePerHour: o.pricePerHour } : {}) }
    return { concurrency, ...(await runJobsLevel(target, concurrency, limitOf(o), counters)) }
  } finally {
    progress.end()
  }
}

/** Every level in order; never throws for an answer (errors are measured), only for a broken setup. */
export async function runLoadTest(o: RunOptions, progress: Progress = silentProgress): Promise<Report> {
  const levels: Level[] = []
  for (const concurrency of o.concurrency) {
    levels.push(o.mode === 'predict' ? await predictLevel(o, concurrency, progress) : await jobsLevel(o, concurrency, progress))
  }
  return { mode: o.mode, model: o.model, url: o.url, levels }
}
