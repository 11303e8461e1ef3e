/**
 * Job acceptance and status polls (`npm run bench:burst`, not part of the tests), the local stack's
 * parts and the gateway each in their own process as `npm start` runs them, on one machine:
 *   - burst: 1,000 small summarize jobs POSTed at concurrency 64 over keep-alive connections:
 *     accepted per second, accept latency p50/p99; the reference, measured in the same round, is the
 *     same 1,000 jobs done straight with the AWS SDK at the same concurrency — what the gateway does
 *     for each (PutObject of the input, InvokeEndpointAsync, PutObject of the record) without HTTP in
 *     front — so the ratio shows the gateway's own cost;
 *     the CPU time each process spent in the gateway's burst (Linux /proc), per job, shows where the
 *     machine's cycles go and the rate its cores allow at that cost;
 *   - polls (first, on a quiet stack): `GET /jobs/{id}` at concurrency 64 for a few seconds, on jobs
 *     held in progress (a model container that never answers) and on completed jobs: answers per second.
 *   - uploads: 64 concurrent 16 MiB uploads (random bytes, to a model that takes them), all answered
 *     202, and the gateway's peak RSS (VmHWM) while they run, with the default upload.maxBufferedBytes.
 * Each figure is the median of BENCH_ROUNDS rounds (default 3). `npm run bench` runs these as its
 * burst, polls and uploads scenarios (run.ts); BENCH_ONLY=burst|uploads runs a part alone.
 * BENCH_CPU_PROF=<dir> runs the gateway with --cpu-prof (the profile is written when it exits);
 * BENCH_LOG_LEVEL sets the gateway's log level (default fatal).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { InvokeEndpointAsyncCommand } from '@aws-sdk/client-sagemaker-runtime'
import { fork, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import pino from 'pino'
import { createS3Client, createSageMakerRuntimeClient } from '../../src/clients/aws.js'
import { LOCAL_BUCKET, localEndpoints } from '../../src/local/defaults.js'
import { startLocalStack } from '../../src/local/stack.js'
import { cpuSnapshot, cpuSpent, formatCpu } from './cpu-accounting.js'
import { localStackEnv, startGatewayProcess } from './gateway-process.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const JOBS = Number(process.env.BENCH_JOBS ?? 1000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64)
const POLL_SECONDS = Number(process.env.BENCH_POLL_SECONDS ?? 5)
const TEXT = Buffer.from('The council approved the budget on Tuesday. New buses arrive in spring. Night service starts in June. '.repeat(2))

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function call(agent: Agent, url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; ms: number; text: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, text: Buffer.concat(chunks).toString() }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** `n` calls of `one`, `concurrency` at a time; latencies (sorted), statuses, elapsed seconds. */
async function fire<T extends { status: number; ms: number }>(n: number, concurrency: number, one: (i: number) => Promise<T>) {
  const ms: number[] = []
  const statuses: Record<number, number> = {}
  const results: T[] = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++
        const r = await one(i)
        ms.push(r.ms)
        statuses[r.status] = (statuses[r.status] ?? 0) + 1
        results.push(r)
      }
    }),
  )
  return { ms: ms.sort((a, b) => a - b), statuses, seconds: (performance.now() - t0) / 1000, results }
}

/** Calls `one` at `concurrency` for `seconds`; answers per second. */
async function sustained(seconds: number, concurrency: number, one: () => Promise<{ status: number }>) {
  let answers = 0
  let bad = 0
  const end = performance.now() + seconds * 1000
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = await one()
        if (r.status === 200) answers++
        else bad++
      }
    }),
  )
  return { perSecond: answers / ((performance.now() - t0) / 1000), bad }
}

export interface BurstResults {
  rounds: number
  polls: {
    concurrency: number
    seconds: number
    inProgressPerSecond: number
    completedPerSecond: number
    /** The same client against a bare Fastify route sending the same text (bare-server.ts). */
    barePerSecond: number
    completedToBare: number
    notOk: number
  }
  burst: {
    jobs: number
    concurrency: number
    tps: number
    p50Ms: number
    p99Ms: number
    directTps: number
    directP50Ms: number
    directP99Ms: number
    /** Gateway jobs/s ÷ direct SDK jobs/s, per round, median. */
    ratio: number
    /** CPU milliseconds per job in the gateway burst, by process (median of the rounds). */
    cpuMsPerJob: Record<string, number>
    /** What the machine's cores allow at that CPU cost per job: cores × 1000 / total ms per job. */
    cpuCeilingPerSecond: number
    refused: Record<number, number>
  }
  uploads?: { count: number; sizeMiB: number; seconds: number; statuses: Record<number, number>; peakRssMiB: number; peakExternalMiB: number; peakHeapMiB: number }
}

/**
 * The scenarios above, each against a gateway process of its own in front of a local stack of its
 * own. `only`: `burst` (polls and the burst), `uploads` (the concurrent uploads), or both.
 */
export async function benchBurst(options: { only?: 'burst' | 'uploads'; log?: (line: string) => void } = {}): Promise<BurstResults> {
  const log = options.log ?? ((line: string) => console.log(line))
  const dir = await mkdtemp(join(tmpdir(), 'sagegate-bench-burst-'))
  const logger = pino({ level: 'error' })
  // A container that never answers: jobs sent to it stay in progress for the in-progress polls.
  const silent = createServer((req, res) => {
    if (req.url === '/ping') return void res.end()
    req.resume()
  })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  const holdUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
  const stack = await startLocalStack({
    dataDir: join(dir, 'data'),
    mode: 'processes',
    logger,
    logLevel: 'error',
    endpoints: [
      ...localEndpoints.filter((e) => e.name === 'summarize-async'),
      { name: 'held-async', mode: 'async', containerUrl: holdUrl, maxConcurrentInvocationsPerInstance: 1000, instanceCount: 1 },
    ],
  })
  const config = join(dir, 'config.yaml')
  await writeFile(
    config,
    'models:\n' +
      '  summarize:\n    mode: async\n    endpointName: summarize-async\n    contentTypes: [text/plain]\n    maxBytes: 1048576\n' +
      '  blob:\n    mode: async\n    endpointName: held-async\n    contentTypes: [application/octet-stream]\n    maxBytes: 67108864\n' +
      '  held:\n    mode: async\n    endpointName: held-async\n    contentTypes: [text/plain]\n    maxBytes: 1048576\n',
  )
  const prof = process.env.BENCH_CPU_PROF
  let gateway: { url: string; child: ChildProcess } | undefined
  // The reference's clients are configured as the gateway's: uploads with the SDK's default
  // checksums, small JSON records without a request CRC32 (src/app.ts).
  const aws = { region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true, maxSockets: CONCURRENCY }
  const s3 = createS3Client(aws)
  const s3Records = createS3Client({ ...aws, requestChecksums: 'when-required' })
  const sm = createSageMakerRuntimeClient({ region: stack.region, endpoint: stack.sagemaker.endpoint, credentials: stack.credentials, maxSockets: CONCURRENCY })
  const results: Partial<BurstResults> = { rounds: ROUNDS }
  try {
    // BENCH_LOG_LEVEL=warn shows the gateway's own account of what it refused.
    const env = { ...localStackEnv(stack, config), ...(process.env.BENCH_LOG_LEVEL ? { LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {}) }
    gateway = await startGatewayProcess(env, prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
    const post = (model: string) => () => call(agent, `${gateway!.url}/models/${model}/jobs`, 'POST', { 'content-type': 'text/plain', 'content-length': String(TEXT.length) }, TEXT)
    // What the gateway does for a job, straight through the SDK: the reference.
    const direct = async () => {
      const t0 = performance.now()
      const id = randomBytes(16).toString('base64url')
      const key = `bench-direct/jobs/${id}/input`
      await s3.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: key, Body: TEXT, ContentType: 'text/plain' }))
      await sm.send(new InvokeEndpointAsyncCommand({ EndpointName: 'summarize-async', InputLocation: `s3://${LOCAL_BUCKET}/${key}`, ContentType: 'text/plain', InferenceId: id }))
      await s3Records.send(new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: `bench-direct/jobs/${id}/job.json`, Body: JSON.stringify({ id }), ContentType: 'application/json' }))
      return { status: 202, ms: performance.now() - t0 }
    }
    if (options.only !== 'uploads') {
      await fire(50, 8, post('summarize')) // warm up both paths
      await fire(50, 8, direct)
      // Status polls first, on a quiet stack (the bursts' jobs keep the model host busy for a while):
      // 64 jobs held in progress, then 64 completed ones.
      const held = await fire(CONCURRENCY, CONCURRENCY, post('held'))
      const heldIds = held.results.map((r) => (JSON.parse(r.text) as { id: string }).id)
      const done = await fire(CONCURRENCY, CONCURRENCY, post('summarize'))
      const doneIds = done.results.map((r) => (JSON.parse(r.text) as { id: string }).id)
      for (const id of doneIds)
        for (;;) {
          const r = await call(agent, `${gateway.url}/jobs/${id}?wait=30`, 'GET', {})
          if ((JSON.parse(r.text) as { status: string }).status !== 'in_progress') break
        }
      let k = 0
      const poll = (ids: string[]) => () => call(agent, `${gateway!.url}/jobs/${ids[k++ % ids.length]}`, 'GET', {})
      const roles = new Map<number, string>([[gateway.child.pid!, 'gateway'], [process.pid, 'load generator'], ...stack.processes().map((p) => [p.pid, `local ${p.role}`] as [number, string])])
      const label = (pid: number) => roles.get(pid)
      const pollRuns: Array<{ inProgress: number; completed: number; bare: number; bad: number }> = []
      // The reference for polls: a bare Fastify route sending the same text, in its own process.
      const sample = (await call(agent, `${gateway.url}/jobs/${doneIds[0]}`, 'GET', {})).text
      const bare = fork(fileURLToPath(new URL('./bare-server.js', import.meta.url)), [], { env: { ...process.env, BARE_BODY: sample }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      const barePort = (await once(bare, 'message')) as [number]
      const bareUrl = `http://127.0.0.1:${barePort[0]}`
      const bareAgent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
      const pollBare = () => call(bareAgent, `${bareUrl}/jobs/${doneIds[k++ % doneIds.length]}`, 'GET', {})
      roles.set(bare.pid!, 'bare Fastify')
      await sustained(1, CONCURRENCY, poll(heldIds))
      await sustained(1, CONCURRENCY, poll(doneIds))
      await sustained(1, CONCURRENCY, pollBare)
      for (let round = 1; round <= ROUNDS; round++) {
        const c0 = cpuSnapshot()
        const inProgress = await sustained(POLL_SECONDS, CONCURRENCY, poll(heldIds))
        const c1 = cpuSnapshot()
        const completed = await sustained(POLL_SECONDS, CONCURRENCY, poll(doneIds))
        const c2 = cpuSnapshot()
        const bareRun = await sustained(POLL_SECONDS, CONCURRENCY, pollBare)
        const c3 = cpuSnapshot()
        pollRuns.push({ inProgress: inProgress.perSecond, completed: completed.perSecond, bare: bareRun.perSecond, bad: inProgress.bad + completed.bad })
        log(`  polls round ${round}: in progress ${inProgress.perSecond.toFixed(0)}/s, completed ${completed.perSecond.toFixed(0)}/s, bare Fastify ${bareRun.perSecond.toFixed(0)}/s`)
        log(`    CPU, in progress: ${formatCpu(cpuSpent(c0, c1, label), POLL_SECONDS)}; completed: ${formatCpu(cpuSpent(c1, c2, label), POLL_SECONDS)}; bare: ${formatCpu(cpuSpent(c2, c3, label), POLL_SECONDS)}`)
      }
      bare.disconnect()
      bareAgent.destroy()
      results.polls = {
        concurrency: CONCURRENCY,
        seconds: POLL_SECONDS,
        inProgressPerSecond: median(pollRuns.map((r) => r.inProgress)),
        completedPerSecond: median(pollRuns.map((r) => r.completed)),
        barePerSecond: median(pollRuns.map((r) => r.bare)),
        completedToBare: median(pollRuns.map((r) => r.completed / r.bare)),
        notOk: pollRuns.reduce((n, r) => n + r.bad, 0),
      }
      log(
        `status polls at concurrency ${CONCURRENCY} (medians of ${ROUNDS}): in progress ${results.polls.inProgressPerSecond.toFixed(0)}/s (target ≥ 1,500), completed ${results.polls.completedPerSecond.toFixed(0)}/s (target ≥ 10,000), ${results.polls.completedToBare.toFixed(2)} of a bare Fastify route's ${results.polls.barePerSecond.toFixed(0)}/s${results.polls.notOk > 0 ? ` (${results.polls.notOk} not 200)` : ''}`,
      )
      const rows: Array<{ tps: number; p50: number; p99: number; directTps: number; directP50: number; directP99: number; cpu: Map<string, number> }> = []
      const refused: Record<number, number> = {}
      for (let round = 1; round <= ROUNDS; round++) {
        const c0 = cpuSnapshot()
        const g = await fire(JOBS, CONCURRENCY, post('summarize'))
        const c1 = cpuSnapshot()
        const d = await fire(JOBS, CONCURRENCY, direct)
        const c2 = cpuSnapshot()
        const gatewayCpu = cpuSpent(c0, c1, label)
        log(`  round ${round} CPU, gateway burst (${g.seconds.toFixed(1)} s): ${formatCpu(gatewayCpu, g.seconds)}`)
        log(`  round ${round} CPU, direct burst (${d.seconds.toFixed(1)} s): ${formatCpu(cpuSpent(c1, c2, label), d.seconds)}`)
        const bad = g.results.find((r) => r.status !== 202)
        if (bad !== undefined) log(`  round ${round}: gateway answers ${JSON.stringify(g.statuses)}, e.g. ${bad.text.slice(0, 300)}`)
        for (const [status, n] of Object.entries(g.statuses)) if (Number(status) !== 202) refused[Number(status)] = (refused[Number(status)] ?? 0) + n
        rows.push({
          tps: JOBS / g.seconds,
          p50: percentile(g.ms, 50),
          p99: percentile(g.ms, 99),
          directTps: JOBS / d.seconds,
          directP50: percentile(d.ms, 50),
          directP99: percentile(d.ms, 99),
          // Processes outside the bench ("other") are not part of the job's cost.
          cpu: new Map(gatewayCpu.filter((c) => c.name !== 'other').map((c) => [c.name, (c.seconds * 1000) / JOBS])),
        })
        log(
          `  round ${round}: gateway ${(JOBS / g.seconds).toFixed(0)} jobs/s p50 ${percentile(g.ms, 50).toFixed(0)} ms p99 ${percentile(g.ms, 99).toFixed(0)} ms; direct SDK ${(JOBS / d.seconds).toFixed(0)} jobs/s p50 ${percentile(d.ms, 50).toFixed(0)} ms p99 ${percentile(d.ms, 99).toFixed(0)} ms`,
        )
      }
      const m = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f))
      const names = [...new Set(rows.flatMap((r) => [...r.cpu.keys()]))]
      const cpuMsPerJob = Object.fromEntries(names.map((n) => [n, m((r) => r.cpu.get(n) ?? 0)]))
      const totalMs = Object.values(cpuMsPerJob).reduce((a, b) => a + b, 0)
      results.burst = {
        jobs: JOBS,
        concurrency: CONCURRENCY,
        tps: m((r) => r.tps),
        p50Ms: m((r) => r.p50),
        p99Ms: m((r) => r.p99),
        directTps: m((r) => r.directTps),
        directP50Ms: m((r) => r.directP50),
        directP99Ms: m((r) => r.directP99),
        ratio: m((r) => r.tps / r.directTps),
        cpuMsPerJob,
        cpuCeilingPerSecond: (cpus().length * 1000) / totalMs,
        refused,
      }
      const b = results.burst
      log(
        `burst of ${JOBS} jobs at concurrency ${CONCURRENCY} (medians of ${ROUNDS}): gateway ${b.tps.toFixed(0)} accepted/s (target ≥ 200), p50 ${b.p50Ms.toFixed(0)} ms, p99 ${b.p99Ms.toFixed(0)} ms (target ≤ 400); direct SDK ${b.directTps.toFixed(0)}/s, p50 ${b.directP50Ms.toFixed(0)} ms; ratio ${b.ratio.toFixed(2)}`,
      )
      log(
        `  CPU per job in the gateway burst: ${Object.entries(cpuMsPerJob)
          .sort((x, y) => y[1] - x[1])
          .map(([n, ms]) => `${n} ${ms.toFixed(2)} ms`)
          .join(', ')}; total ${totalMs.toFixed(2)} ms, so ${cpus().length} cores allow at most ${b.cpuCeilingPerSecond.toFixed(0)} jobs/s`,
      )
    }
    if (options.only === 'burst') return results as BurstResults

    // 64 concurrent 16 MiB uploads: all must succeed, and the gateway's memory stays bounded.
    const pid = gateway.child.pid!
    await writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => undefined)
    const blob = randomBytes(16 * 1024 * 1024)
    // The gateway's own view while they run: JS heap and external (Buffer) memory, sampled.
    let external = 0
    let heap = 0
    const sampler = setInterval(() => {
      void call(agent, `${gateway!.url}/metrics`, 'GET', {}).then((r) => {
        external = Math.max(external, Number(/^sagegate_nodejs_external_memory_bytes (\S+)/m.exec(r.text)?.[1] ?? 0))
        heap = Math.max(heap, Number(/^sagegate_nodejs_heap_size_used_bytes (\S+)/m.exec(r.text)?.[1] ?? 0))
      })
    }, 250)
    const uploads = await fire(64, 64, () => call(agent, `${gateway!.url}/models/blob/jobs`, 'POST', { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) }, blob))
    clearInterval(sampler)
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const peakMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
    results.uploads = { count: 64, sizeMiB: 16, seconds: uploads.seconds, statuses: uploads.statuses, peakRssMiB: peakMiB, peakExternalMiB: external / 1048576, peakHeapMiB: heap / 1048576 }
    log(
      `64 concurrent 16 MiB uploads: ${uploads.seconds.toFixed(1)} s, answers ${JSON.stringify(uploads.statuses)}, gateway peak RSS ${peakMiB.toFixed(0)} MiB (${(peakMiB * 1.048576).toFixed(0)} MB; target ≤ 400 MB); sampled peaks: external (Buffer) memory ${(external / 1048576).toFixed(0)} MiB, JS heap ${(heap / 1048576).toFixed(0)} MiB`,
    )
    return results as BurstResults
  } finally {
    if (gateway !== undefined) {
      gateway.child.kill('SIGTERM')
      await once(gateway.child, 'exit')
    }
    s3.destroy()
    s3Records.destroy()
    sm.destroy()
    silent.closeAllConnections()
    silent.close()
    await stack.close()
    await rm(dir, { recursive: true, force: true })
  }
}

// Run as `npm run bench:burst`: BENCH_ONLY=burst (polls and burst) or uploads (the concurrent uploads).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const only = process.env.BENCH_ONLY
  await benchBurst(only === 'burst' || only === 'uploads' ? { only } : {})
}
