/**
 * Real-time benchmark: the gateway's `POST /models/echo/predict` against the SDK's InvokeEndpoint to
 * the same local multi-model endpoint (TargetModel echo.tar.gz), in the same run:
 *   - concurrency 1: p50/p99 latency of each, and what the gateway adds;
 *   - concurrency 16: requests per second of each, and their ratio;
 *   - multi-model cold start (download, unpack, load) versus warm calls, through the gateway.
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
  try {
    for (const [label, size, n1, n16] of [
      ['1 KiB', KiB, 400, 2000],
      ['1 MiB', 1024 * KiB, 100, 300],
    ] as const) {
      const body = randomBytes(size)
      // Warm up both paths (load the model, open connections).
      await load(direct(body), 20, 4)
      await load(viaGateway(body), 20, 4)
      const d1 = await load(direct(body), n1, 1)
      const g1 = await load(viaGateway(body), n1, 1)
      const d16 = await load(direct(body), n16, 16)
      const g16 = await load(viaGateway(body), n16, 16)
      rows.push({
        body: label,
        directP50Ms: percentile(d1.latencies, 50),
        gatewayP50Ms: percentile(g1.latencies, 50),
        addedP50Ms: percentile(g1.latencies, 50) - percentile(d1.latencies, 50),
        directP99Ms: percentile(d1.latencies, 99),
        gatewayP99Ms: percentile(g1.latencies, 99),
        addedP99Ms: percentile(g1.latencies, 99) - percentile(d1.latencies, 99),
        directRps16: n16 / d16.seconds,
        gatewayRps16: n16 / g16.seconds,
        rpsRatio16: n16 / g16.seconds / (n16 / d16.seconds),
      })
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
    return { rows, mme: { models: coldNames.length, coldP50Ms: percentile(cold, 50), warmP50Ms: percentile(warm, 50), coldMaxMs: cold.at(-1)!, warmMaxMs: warm.at(-1)! } }
  } finally {
    sm.destroy()
    agent.destroy()
  }
}
