/**
 * Real-time benchmark: the gateway's `POST /models/echo/predict` against the SDK's InvokeEndpoint to
 * the same local multi-model endpoint (TargetModel echo.tar.gz), in the same run, ROUNDS rounds:
 *   - concurrency 1 (the gateway called with a plain keep-alive node:http client): p50/p99 latency of
 *     each and what the gateway adds, the two calls alternating (which goes first alternates too) so
 *     that load from elsewhere on the machine hits both alike;
 *   - concurrency 16: requests per second of each and their ratio, direct run before and after the
 *     gateway (half its calls each time);
 *   - multi-model cold start (download, unpack, load) versus warm calls, through the gateway.
 * Each row holds the medians over the rounds; the targets (TARGETS) are printed with the median and
 * each round's figure, and whether the median meets them.
 */
import { CopyObjectCommand } from '@aws-sdk/client-s3'
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime'
import { randomBytes } from 'node:crypto'
import { Agent, request } from 'node:http'
import { createS3Client, createSageMakerRuntimeClient } from '../../src/clients/aws.js'
import { LOCAL_BUCKET } from '../../src/local/defaults.js'
import type { LocalStack } from '../../src/local/stack.js'

const KiB = 1024
const MME = 'mme-realtime'
const PREFIX = 'models/mme-realtime/'

export interface Gateway {
  url: string
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

function postVia(agent: Agent, url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Runs `total` calls with `concurrency` workers; returns each call's latency (ms) and the wall time. */
async function load(call: () => Promise<number>, total: number, concurrency: number): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) latencies.push(await call())
    }),
  )
  return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - t0) / 1000 }
}

/** `n` calls of each, one after the other, alternating which goes first; sorted latencies (ms) of each. */
async function alternate(a: () => Promise<number>, b: () => Promise<number>, n: number): Promise<[number[], number[]]> {
  const as: number[] = []
  const bs: number[] = []
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      as.push(await a())
      bs.push(await b())
    } else {
      bs.push(await b())
      as.push(await a())
    }
  }
  return [as.sort((x, y) => x - y), bs.sort((x, y) => x - y)]
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!

const ROUNDS = Number(process.env.BENCH_REALTIME_ROUNDS ?? 3)

/** The targets for what the gateway may cost, against the direct call. */
export const TARGETS = [
  { what: 'added p50, 1 KiB, concurrency 1', body: '1 KiB', key: 'addedP50Ms', unit: 'ms', atMost: 1.0 },
  { what: 'added p50, 1 MiB, concurrency 1', body: '1 MiB', key: 'addedP50Ms', unit: 'ms', atMost: 2.5 },
  { what: 'throughput gateway/direct, 1 KiB, concurrency 16', body: '1 KiB', key: 'rpsRatio16', unit: '', atLeast: 0.8 },
  { what: 'throughput gateway/direct, 1 MiB, concurrency 16', body: '1 MiB', key: 'rpsRatio16', unit: '', atLeast: 0.8 },
] as const

export async function copyArtifacts(stack: LocalStack, names: string[]): Promise<void> {
  const s3 = createS3Client({ region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true })
  for (const name of names) {
    await s3.send(new CopyObjectCommand({ Bucket: LOCAL_BUCKET, CopySource: `${LOCAL_BUCKET}/${PREFIX}echo.tar.gz`, Key: `${PREFIX}${name}.tar.gz` }))
  }
  s3.destroy()
}

export async function benchRealtime(stack: LocalStack, gateway: Gateway, coldNames: string[]) {
  const sm = createSageMakerRuntimeClient({ region: stack.region, endpoint: stack.sagemaker.endpoint, credentials: stack.credentials, maxSockets: 64 })
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const direct = (body: Buffer) => async () => {
    const t0 = performance.now()
    await sm.send(new InvokeEndpointCommand({ EndpointName: MME, TargetModel: 'echo.tar.gz', ContentType: 'application/octet-stream', Body: body }))
    return performance.now() - t0
  }
  const viaGateway = (body: Buffer) => () => postVia(agent, `${gateway.url}/models/echo/predict`, body)

  const rows: Array<Record<string, number | string>> = []
  const targets: Array<{ what: string; median: number; rounds: number[]; target: string; met: boolean }> = []
  try {
    const sizes = [
      ['1 KiB', KiB, 400, 2000],
      ['1 MiB', 1024 * KiB, 100, 300],
    ] as const
    const bodies = sizes.map(([, size]) => randomBytes(size))
    // Warm up both paths (load the model, open connections).
    for (const body of bodies) {
      await load(direct(body), 20, 4)
      await load(viaGateway(body), 20, 4)
    }
    const perRound = sizes.map(() => [] as Array<Record<string, number>>)
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, , n1, n16]] of sizes.entries()) {
        const body = bodies[i]!
        const [d1, g1] = await alternate(direct(body), viaGateway(body), n1)
        const dA = await load(direct(body), n16 / 2, 16)
        const g16 = await load(viaGateway(body), n16, 16)
        const dB = await load(direct(body), n16 / 2, 16)
        const directRps16 = n16 / (dA.seconds + dB.seconds)
        const gatewayRps16 = n16 / g16.seconds
        perRound[i]!.push({
          directP50Ms: percentile(d1, 50),
          gatewayP50Ms: percentile(g1, 50),
          addedP50Ms: percentile(g1, 50) - percentile(d1, 50),
          directP99Ms: percentile(d1, 99),
          gatewayP99Ms: percentile(g1, 99),
          addedP99Ms: percentile(g1, 99) - percentile(d1, 99),
          directRps16,
          gatewayRps16,
          rpsRatio16: gatewayRps16 / directRps16,
        })
      }
    }
    for (const [i, [label]] of sizes.entries()) {
      const runs = perRound[i]!
      const row: Record<string, number | string> = { body: label, rounds: runs.length }
      for (const key of Object.keys(runs[0]!)) row[key] = median(runs.map((r) => r[key]!))
      rows.push(row)
      for (const t of TARGETS.filter((t) => t.body === label)) {
        const values = runs.map((r) => r[t.key]!)
        const m = median(values)
        const met = 'atMost' in t ? m <= t.atMost : m >= t.atLeast
        targets.push({ what: t.what, median: m, rounds: values, target: 'atMost' in t ? `≤ ${t.atMost} ${t.unit}`.trim() : `≥ ${t.atLeast}`, met })
      }
    }
    console.log(`\nreal-time targets — gateway (keep-alive node:http client) vs SDK InvokeEndpoint, same endpoint, same run; medians of ${ROUNDS} rounds`)
    for (const t of targets) {
      const f = (v: number) => v.toFixed(t.what.startsWith('throughput') ? 3 : 2)
      console.log(`${t.what}: ${f(t.median)} (rounds ${t.rounds.map(f).join(', ')}) — target ${t.target}: ${t.met ? 'met' : 'NOT met'}`)
    }
    const small = randomBytes(KiB)
    const cold: number[] = []
    const warm: number[] = []
    for (const name of coldNames) {
      cold.push(await postVia(agent, `${gateway.url}/models/${name}/predict`, small))
      warm.push(await postVia(agent, `${gateway.url}/models/${name}/predict`, small))
    }
    cold.sort((a, b) => a - b)
    warm.sort((a, b) => a - b)
    return { rows, targets, mme: { models: coldNames.length, coldP50Ms: percentile(cold, 50), warmP50Ms: percentile(warm, 50), coldMaxMs: cold.at(-1)!, warmMaxMs: warm.at(-1)! } }
  } finally {
    sm.destroy()
    agent.destroy()
  }
}
