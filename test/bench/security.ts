/**
 * Security benchmark (`npm run bench:security`, not part of the tests), three gateways in their own
 * processes in front of the same local multi-model endpoint, measured in the same run:
 *   - key checking: p50/p99 of `GET /models/echo` (no upstream call: the gateway's own work) on a
 *     gateway running open, one with 3 keys and one with 1,000 keys (every hash is compared), in
 *     alternating rounds; the p50 each adds over the open gateway is the cost of checking a key;
 *   - rate-limit isolation: the p50 of one key's real-time echo calls alone, then while another key
 *     floods the same gateway at concurrency 32 from another thread — once with a limit of 600 requests per minute (its
 *     flood is answered 429) and once with no limit (its flood is served);
 *   - shedding thresholds: the load issue's bursts (1,000 small jobs at concurrency 64, then 64
 *     concurrent 16 MiB uploads, as the load benchmark sends) against a keyed gateway with the default load-shedding threshold,
 *     counting 503 overloaded answers and reading the gateway's longest event-loop delay every second.
 */
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { Worker } from 'node:worker_threads'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { LOCAL_BUCKET, localEndpoints } from '../../src/local/defaults.js'
import { startLocalStack, type LocalStack } from '../../src/local/stack.js'
import { localStackEnv, startGatewayProcess } from './gateway-process.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000)
const hash = (key: string) => createHash('sha256').update(key).digest('hex')
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function call(agent: Agent, url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = request(url, { method, agent, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** `n` sequential calls on one kept-alive connection; their sorted latencies. */
async function sequential(n: number, one: () => Promise<{ status: number; ms: number }>, want = 200): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await one()
    if (r.status !== want) throw new Error(`status ${r.status}`)
    ms.push(r.ms)
  }
  return ms.sort((a, b) => a - b)
}

const keyEntry = (id: string, key: string, extra = '') => `    - id: ${id}\n      tenant: ${id}\n      sha256: "${hash(key)}"\n${extra}`
const mme = `models:\n  bench-text:\n    mode: async\n    endpointName: summarize-async\n    contentTypes: [text/plain]\n    maxBytes: 67108864\n` + `multiModelEndpoints:\n  mme-realtime:\n    modelDataUrl: s3://${LOCAL_BUCKET}/models/mme-realtime/\n`

async function gatewayWith(stack: LocalStack, dir: string, name: string, yaml: string): Promise<{ url: string; child: ChildProcess }> {
  const path = join(dir, `${name}.yaml`)
  await writeFile(path, yaml + mme)
  return startGatewayProcess(localStackEnv(stack, path))
}

/** Fires `total` calls with `concurrency` workers; counts answers by status. */
async function fire(total: number, concurrency: number, one: () => Promise<{ status: number | string }>) {
  const statuses: Record<string, number> = {}
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const r = await one()
        statuses[r.status] = (statuses[r.status] ?? 0) + 1
      }
    }),
  )
  return { statuses, seconds: (performance.now() - t0) / 1000 }
}

async function burstAgainst(url: string, authorization: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN)
  const lag = { jobs: 0, uploads: 0 }
  let phase: keyof typeof lag = 'jobs'
  let sampling = true
  // prom-client resets its event-loop histogram at every scrape: each sample covers the last second.
  const sampler = (async () => {
    while (sampling) {
      await new Promise((r) => setTimeout(r, 1000))
      const seen = await metric('sagegate_nodejs_eventloop_lag_max_seconds')
      lag[phase] = Math.max(lag[phase], seen)
    }
  })()
  const text = Buffer.from('A short text to summarize. It has two sentences.')
  const jobs = await fire(1000, 64, () => call(agent, `${url}/models/bench-text/jobs`, 'POST', { authorization, 'content-type': 'text/plain', 'content-length': String(text.length) }, text.toString()))
  await new Promise((r) => setTimeout(r, 1100))
  phase = 'uploads'
  const big = Buffer.alloc(16 * 1024 * 1024, 'a')
  const uploads = await fire(64, 64, () =>
    new Promise<{ status: number | string }>((resolve, reject) => {
      const req = request(`${url}/models/bench-text/jobs`, { method: 'POST', agent, headers: { authorization, 'content-type': 'text/plain', 'content-length': String(big.length) } }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        // A refusal counted by its problem code, as "503 upstream_timeout".
        res.on('end', () => resolve({ status: res.statusCode === 202 ? 202 : `${res.statusCode} ${/"code":"(\w+)"/.exec(body)?.[1] ?? ''}` }))
      })
      req.on('error', reject)
      req.end(big)
    }),
  )
  sampling = false
  await sampler
  const shed = await metric('sagegate_shed_total')
  agent.destroy()
  return { jobs, uploads, lag, shed }
}

/** 32 clients calling echo with one key until told to stop; posts 'ready', then the answers by status. */
const FLOOD = `
const { parentPort, workerData } = require('node:worker_threads')
const { Agent, request } = require('node:http')
const agent = new Agent({ keepAlive: true, maxSockets: 32 })
const statuses = {}
let stop = false
parentPort.on('message', () => { stop = true })
const one = () => new Promise((resolve) => {
  const req = request(workerData.url, { method: 'POST', agent, headers: { authorization: 'Bearer ' + workerData.key, 'content-type': 'text/plain', 'content-length': '4' } }, (res) => {
    res.resume()
    res.on('end', () => { statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1; resolve() })
  })
  req.on('error', () => resolve())
  req.end('ping')
})
const workers = Array.from({ length: 32 }, async () => { while (!stop) await one() })
setTimeout(() => parentPort.postMessage('ready'), 500)
Promise.all(workers).then(() => { agent.destroy(); parentPort.postMessage(statuses) })
`

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'sagegate-bench-sec-'))
  const stack = await startLocalStack({
    dataDir: dir,
    mode: 'processes',
    logger: pino({ level: 'warn' }),
    logLevel: 'error',
    endpoints: localEndpoints.filter((e) => e.name === 'mme-realtime' || e.name === 'summarize-async'),
  })
  const KEY = 'sg_bench_4f0c1d2e9b8a7c6d5e4f3a2b1c0d9e8f'
  const many = Array.from({ length: 999 }, (_, i) => keyEntry(`k${i}`, `sg_other_${i}`)).join('')
  const gateways = {
    open: await gatewayWith(stack, dir, 'open', ''),
    keys3: await gatewayWith(stack, dir, 'keys3', `auth:\n  keys:\n${keyEntry('a', 'sg_a')}${keyEntry('b', 'sg_b')}${keyEntry('bench', KEY)}`),
    keys1000: await gatewayWith(stack, dir, 'keys1000', `auth:\n  keys:\n${many}${keyEntry('bench', KEY)}`),
    isolation: await gatewayWith(
      stack,
      dir,
      'isolation',
      `auth:\n  keys:\n${keyEntry('calm', 'sg_calm')}${keyEntry('flood', 'sg_flood', '      requestsPerMinute: 600\n')}${keyEntry('flood-unlimited', 'sg_flood_unlimited')}`,
    ),
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  try {
    // 1. Key checking, alternating gateways round by round.
    const p50s: Record<string, number[]> = { open: [], keys3: [], keys1000: [] }
    const p99s: Record<string, number[]> = { open: [], keys3: [], keys1000: [] }
    for (let round = 0; round <= ROUNDS; round++) {
      for (const name of ['open', 'keys3', 'keys1000'] as const) {
        const headers: Record<string, string> = name === 'open' ? {} : { authorization: `Bearer ${KEY}` }
        const ms = await sequential(round === 0 ? 300 : REQUESTS, () => call(agent, `${gateways[name].url}/models/echo`, 'GET', headers))
        if (round === 0) continue // warm-up
        p50s[name]!.push(percentile(ms, 50))
        p99s[name]!.push(percentile(ms, 99))
      }
    }
    const keyCheck = Object.fromEntries(Object.keys(p50s).map((n) => [n, { p50Ms: median(p50s[n]!), p99Ms: median(p99s[n]!) }]))
    console.log(`\nkey checking: GET /models/echo, ${REQUESTS} sequential requests × ${ROUNDS} rounds (medians of rounds)`)
    for (const [name, r] of Object.entries(keyCheck)) {
      const added = r.p50Ms - keyCheck.open!.p50Ms
      console.log(`  ${name.padEnd(9)} p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms${name === 'open' ? '' : `  (p50 added ${(added * 1000).toFixed(0)} µs)`}`)
    }

    // 2. Isolation: the calm key's echo calls, alone and during another key's flood.
    const url = `${gateways.isolation.url}/models/echo/predict`
    const echo = (key: string) => () => call(agent, url, 'POST', { authorization: `Bearer ${key}`, 'content-type': 'text/plain', 'content-length': '4' }, 'ping')
    await sequential(300, echo('sg_calm'))
    const calm = () => sequential(Math.min(REQUESTS, 1000), echo('sg_calm'))
    const during = async (floodKey: string) => {
      // The flood runs on a thread of its own, so that its load does not delay the calm key's
      // calls inside this process (which would be measured as the gateway's).
      const flood = new Worker(FLOOD, { eval: true, workerData: { url, key: floodKey } })
      await new Promise((r) => flood.once('message', r))
      const ms = await calm()
      flood.postMessage('stop')
      const [statuses] = (await once(flood, 'message')) as [Record<number, number>]
      await flood.terminate()
      return { ms, statuses }
    }
    const alone: number[] = []
    const limited: number[] = []
    const unlimited: number[] = []
    let limitedStatuses = {}
    let unlimitedStatuses = {}
    for (let round = 0; round < ROUNDS; round++) {
      alone.push(percentile(await calm(), 50))
      const l = await during('sg_flood')
      limited.push(percentile(l.ms, 50))
      limitedStatuses = l.statuses
      const u = await during('sg_flood_unlimited')
      unlimited.push(percentile(u.ms, 50))
      unlimitedStatuses = u.statuses
    }
    const iso = { aloneP50Ms: median(alone), floodLimitedP50Ms: median(limited), floodUnlimitedP50Ms: median(unlimited) }
    console.log(`\nrate-limit isolation: the calm key's echo p50 (medians of ${ROUNDS} rounds)`)
    console.log(`  alone                                   ${iso.aloneP50Ms.toFixed(2)} ms`)
    console.log(`  another key floods, limited to 600/min  ${iso.floodLimitedP50Ms.toFixed(2)} ms  (×${(iso.floodLimitedP50Ms / iso.aloneP50Ms).toFixed(2)}; flood answers of the last round ${JSON.stringify(limitedStatuses)})`)
    console.log(`  another key floods, no limit            ${iso.floodUnlimitedP50Ms.toFixed(2)} ms  (×${(iso.floodUnlimitedP50Ms / iso.aloneP50Ms).toFixed(2)}; ${JSON.stringify(unlimitedStatuses)})`)

    // 3. The load issue's bursts must not trip load shedding at the default threshold.
    const burst = await burstAgainst(gateways.keys3.url, `Bearer ${KEY}`)
    console.log(`\nshedding thresholds (limits.maxEventLoopDelayMs default): keyed gateway`)
    console.log(`  1,000 jobs at concurrency 64: ${burst.jobs.seconds.toFixed(1)} s, answers ${JSON.stringify(burst.jobs.statuses)}`)
    console.log(`  64 concurrent 16 MiB uploads: ${burst.uploads.seconds.toFixed(1)} s, answers ${JSON.stringify(burst.uploads.statuses)}`)
    // The longest single delay bounds the mean that under-pressure compares with its threshold.
    console.log(`  longest event-loop delay seen: jobs ${(burst.lag.jobs * 1000).toFixed(1)} ms, uploads ${(burst.lag.uploads * 1000).toFixed(1)} ms (threshold on the 1 s mean: 1000 ms); shed ${burst.shed}`)
    console.log(JSON.stringify({ keyCheck, isolation: iso, burst }))
  } finally {
    agent.destroy()
    for (const g of Object.values(gateways)) g.child.kill('SIGTERM')
    await stack.close()
    await rm(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
