/**
 * The long fuzz run (`npm run fuzz -- --runs 5000 --seed 1`, not part of the tests): the same
 * generators, pinned regressions and checks as fuzz.test.ts, for as long as asked. Prints progress
 * to stderr, then the summary: requests, answers by class and code, connections the server closed,
 * hangs, time taken, and every failure, grouped by kind, with the seed and path that replay it
 * (`--seed S --path P`). Exits 1 on any failure.
 *
 *   --runs N     fast-check runs in all, shared by the lanes (default 2000); a run is 1–batch requests
 *   --seed S     the first lane's seed (default: the time); lanes use S, S+1, ...
 *   --lanes L    runs going at once (default 4)
 *   --batch B    most requests per run, sent at once (default 4)
 *   --path P     replay one run of the lane with seed S (one lane, one run)
 *   --margin MS  slack over the gateway's timeouts before a request counts as hung (default 5000)
 *   --open       run the gateway without API keys (default: keys, every request carrying one)
 */
import { parseArgs } from 'node:util'
import { KEYS, withKeys } from '../helpers/auth.js'
import { runFuzz, startFuzzStack, type Owner } from './harness.js'
import { formatResult } from './report.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    lanes: { type: 'string', default: '4' },
    batch: { type: 'string', default: '4' },
    path: { type: 'string' },
    margin: { type: 'string', default: '5000' },
    open: { type: 'boolean', default: false },
  },
})
const lanes = values.path !== undefined ? 1 : Number(values.lanes)
const runs = values.path !== undefined ? 1 : Math.ceil(Number(values.runs) / lanes)

// The stack runs in this process: a crash of the gateway is an exception here. Count it, keep going.
const crashes: string[] = []
process.on('uncaughtException', (err) => void crashes.push(`uncaught exception: ${err.stack ?? String(err)}`))
process.on('unhandledRejection', (err) => void crashes.push(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}`))

const teardowns: Array<() => unknown> = []
const owner = { teardown: (fn: () => unknown) => void teardowns.push(fn) } as unknown as Owner

const it = await startFuzzStack(owner, values.open ? {} : { configure: withKeys() })
let next = 500
const result = await runFuzz(it, {
  seed: Number(values.seed),
  runs,
  lanes,
  maxBatch: Number(values.batch),
  marginMs: Number(values.margin),
  authHeaders: values.open ? [] : [['authorization', `Bearer ${KEYS.acmeWeb}`]],
  ...(values.path !== undefined ? { path: values.path } : {}),
  onProgress: (n, failing) => {
    if (n < next) return
    next += 500
    process.stderr.write(`fuzz: ${n} requests, ${failing} failing\n`)
  },
})
result.after.push(...crashes)
console.log(formatResult(result))
for (const fn of teardowns.reverse()) await fn()
process.exit(result.failures.length + result.after.length > 0 ? 1 : 0)
