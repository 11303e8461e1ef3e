/**
 * The fuzz run, shared by the small seed-fixed test (fuzz.test.ts) and the long run (`npm run fuzz`,
 * run.ts): the real local stack with short client timeouts, fast-check generating batches of
 * requests that go out concurrently over real sockets, every answer judged (send.ts), and after the
 * run the gateway healthy and S3 holding nothing but the jobs it accepted.
 *
 * Several fast-check runs ("lanes", seeds seed, seed+1, ...) go at once, so that the requests that
 * wait out a timeout on purpose overlap. A failure is reported with its lane's seed and the path of
 * its batch: `--seed S --path P` replays that batch (run.ts).
 */
import fc from 'fast-check'
import type { Test } from 'tap'
import type { Config } from '../../src/config.js'
import type { LocalStack } from '../../src/local/stack.js'
import { startTestStack, type TestStack } from '../helpers/stack.js'
import { junkToModelCase, routeCase, type FuzzContext, type ModelInfo } from './arbitraries.js'
import { checkAfter, listAll, prepareJobs } from './after.js'
import { rawCase } from './framing.js'
import { regressions } from './regressions.js'
import { sendCase, type FuzzCase, type Outcome, type SendContext } from './send.js'

/**
 * Short client timeouts, so that a request the gateway fails to end shows up as a hang in seconds.
 * Load shedding is off: a slow machine would otherwise answer 503 overloaded, which this suite
 * counts as a failure (shedding has tests of its own, test/routes/access.test.ts).
 */
export const fuzzTimeouts = (c: Config): Config => ({
  ...c,
  upload: { ...c.upload, idleTimeoutMs: 1000 },
  server: { ...c.server, headersTimeoutMs: 2000 },
  limits: { ...c.limits, maxEventLoopDelayMs: 0 },
})

/** Who tears the stack down: a tap test, or the long runner. */
export type Owner = Pick<Test, 'teardown'>

export interface FuzzStackOptions {
  /** Applied after fuzzTimeouts: the hook for API keys and anything else the suite should run with. */
  configure?: (config: Config, stack: LocalStack) => Config | Promise<Config>
}

export function startFuzzStack(owner: Owner, o: FuzzStackOptions = {}): Promise<TestStack> {
  return startTestStack(owner as Test, {
    configure: async (c, stack) => (o.configure !== undefined ? o.configure(fuzzTimeouts(c), stack) : fuzzTimeouts(c)),
  })
}

/**
 * How long an answer (or the close) may take: the longest of the gateway's client timeouts, plus
 * how late its checks may notice (headers: every headersTimeout/4 up to 1 s; bodies: every
 * idleTimeout/4 up to 1 s), plus a margin for a loaded machine.
 */
export function budgetMs(config: Config, marginMs = 5000): number {
  const headers = config.server.headersTimeoutMs + Math.min(1000, config.server.headersTimeoutMs / 4)
  const body = config.upload.idleTimeoutMs + Math.min(1000, config.upload.idleTimeoutMs / 4)
  return Math.ceil(Math.max(headers, body) + marginMs)
}

export function fuzzCase(ctx: FuzzContext): fc.Arbitrary<FuzzCase> {
  return fc.oneof({ weight: 3, arbitrary: routeCase(ctx) }, { weight: 3, arbitrary: junkToModelCase(ctx) }, { weight: 3, arbitrary: rawCase(ctx) })
}

export interface FuzzOptions {
  seed: number
  /** fast-check runs per lane; each run is one batch of requests. */
  runs: number
  /** Lanes run at once, with seeds seed, seed+1, ... (default 4). */
  lanes?: number
  /** Requests per batch, sent at once (default 4). */
  maxBatch?: number
  /** Added to every request. */
  authHeaders?: Array<[string, string]>
  marginMs?: number
  /** Replays one batch (fast-check's path) of the lane with `seed`; implies one lane. */
  path?: string
  onProgress?: (requests: number, failing: number) => void
}

export interface Failure {
  seed: number
  path: string
  case: unknown
  failures: string[]
}

export interface FuzzResult {
  seeds: number[]
  requests: number
  outcomes: Record<string, number>
  families: Record<string, number>
  statusClasses: Record<string, number>
  /** Connections the server closed (FIN) or reset. */
  serverClosed: number
  resets: number
  hangs: number
  slowestMs: number
  failures: Failure[]
  accepted: number
  /** Failures of the checks after the run (health, S3, uploads in flight). */
  after: string[]
  durationMs: number
}

const bump = (m: Record<string, number>, k: string) => void (m[k] = (m[k] ?? 0) + 1)

function record(r: FuzzResult, o: Outcome, failure: Omit<Failure, 'failures'>): void {
  r.requests++
  bump(r.outcomes, o.outcome)
  bump(r.families, o.family)
  bump(r.statusClasses, o.statuses.length > 0 ? `${String(o.statuses[0]).slice(0, 1)}xx` : 'no answer')
  if (o.ended !== undefined) r.serverClosed++
  if (o.ended === 'reset') r.resets++
  if (o.failures.some((f) => f.startsWith('hang') || f.startsWith('linger'))) r.hangs++
  r.slowestMs = Math.max(r.slowestMs, o.ms)
  if (o.failures.length > 0) r.failures.push({ ...failure, failures: o.failures })
}

export async function runFuzz(it: TestStack, o: FuzzOptions): Promise<FuzzResult> {
  const started = Date.now()
  const auth = o.authHeaders ?? []
  const res = await fetch(`${it.baseUrl}/models`, { headers: Object.fromEntries(auth) })
  const models = ((await res.json()) as { models: ModelInfo[] }).models
  const ctx: FuzzContext = { models: models.map((m) => ({ name: m.name, mode: m.mode, contentTypes: m.contentTypes })) }
  const before = new Set(await listAll(it))
  const accepted = new Set<string>()
  const known = await prepareJobs(it, ctx, auth)
  for (const id of [known.completed, known.failed]) accepted.add(id)
  let latest = known.completed
  const url = new URL(it.baseUrl)
  const sc: SendContext = {
    host: url.hostname,
    port: Number(url.port),
    budgetMs: budgetMs(it.config, o.marginMs),
    authHeaders: auth,
    jobs: { completed: known.completed, failed: known.failed, latest: () => latest },
  }
  const lanes = o.path !== undefined ? 1 : (o.lanes ?? 4)
  const seeds = Array.from({ length: lanes }, (_, i) => o.seed + i)
  const result: FuzzResult = { seeds, requests: 0, outcomes: {}, families: {}, statusClasses: {}, serverClosed: 0, resets: 0, hangs: 0, slowestMs: 0, failures: [], accepted: 0, after: [], durationMs: 0 }

  // The pinned counterexamples first (regressions.ts; not when replaying one batch), then the generated batches.
  const pinned = o.path === undefined ? regressions(ctx) : []
  const answers = await Promise.all(pinned.map((c) => sendCase(c, sc)))
  answers.forEach((out, i) => record(result, out, { seed: o.seed, path: `regression ${i}`, case: pinned[i] }))

  const lane = async (seed: number) => {
    let index = o.path !== undefined ? Number(o.path.split(':')[0]) : 0
    const property = fc.asyncProperty(fc.array(fuzzCase(ctx), { minLength: 1, maxLength: o.maxBatch ?? 4 }), async (batch) => {
      const path = String(index++)
      const outcomes = await Promise.all(batch.map((c) => sendCase(c, sc)))
      outcomes.forEach((out, i) => {
        for (const id of out.accepted) {
          accepted.add(id)
          latest = id
        }
        record(result, out, { seed, path, case: batch[i] })
      })
      o.onProgress?.(result.requests, result.failures.length)
    })
    // Failures are collected, not thrown: one run reports every defect it meets, each with its path.
    const details = await fc.check(property, { seed, ...(o.path !== undefined ? { path: o.path, numRuns: 1 } : { numRuns: o.runs }) })
    if (details.failed) result.failures.push({ seed, path: details.counterexamplePath ?? '', case: details.counterexample, failures: [`the property threw: ${String(details.errorInstance)}`] })
  }
  await Promise.all(seeds.map(lane))
  result.accepted = accepted.size
  result.after = await checkAfter(it, { before, accepted, models: ctx.models, authHeaders: auth })
  result.durationMs = Date.now() - started
  return result
}
