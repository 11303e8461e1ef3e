/**
 * A probe (not a test, not a bench): 64 concurrent 16 MiB uploads into a gateway running in this
 * process (run with --expose-gc), in front of the local stack's processes, sampling the process's
 * Buffer memory before and after a forced GC: tells live memory from garbage not yet collected.
 */
import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { writeHeapSnapshot } from 'node:v8'
import { buildApp } from '../../src/app.js'
import { loadConfig, parseModels } from '../../src/config.js'
import { localEndpoints } from '../../src/local/defaults.js'
import { startLocalStack } from '../../src/local/stack.js'

const gc = (globalThis as { gc?: () => void }).gc!
const dir = await mkdtemp(join(tmpdir(), 'sagegate-probe-'))
const logger = pino({ level: 'warn' })
const stack = await startLocalStack({ dataDir: dir, mode: 'processes', logger, logLevel: 'warn', endpoints: localEndpoints.filter((e) => e.name === 'summarize-async') })
const base = loadConfig({ SAGEGATE_BUCKET: stack.s3.bucket, SAGEGATE_ANONYMOUS: 'true', ...(process.env.BUDGET ? { SAGEGATE_UPLOAD_MAX_BUFFERED_BYTES: process.env.BUDGET } : {}) })
const app = await buildApp(
  {
    ...base,
    aws: { ...base.aws, region: stack.region, s3Endpoint: stack.s3.endpoint, sageMakerRuntimeEndpoint: stack.sagemaker.endpoint, s3ForcePathStyle: true },
    models: parseModels({ blob: { mode: 'async', endpointName: 'summarize-async', contentTypes: ['application/octet-stream'], maxBytes: 64 * 1024 * 1024 } }),
    multiModelEndpoints: {},
  },
  { logger, credentials: stack.credentials },
)
const url = await app.listen({ host: '127.0.0.1', port: 0 })
const blob = randomBytes(16 * 1024 * 1024)
const agent = new Agent({ keepAlive: true, maxSockets: 64 })
const mib = (n: number) => (n / 1048576).toFixed(0)
let snapshots = 0
let peakAll = 0
let peakLive = 0
const sampler = setInterval(() => {
  const before = process.memoryUsage().arrayBuffers
  gc()
  const after = process.memoryUsage().arrayBuffers
  peakAll = Math.max(peakAll, before)
  peakLive = Math.max(peakLive, after)
  console.log(`Buffers ${mib(before)} MiB, live after GC ${mib(after)} MiB`)
  if (process.env.SNAPSHOT && after > 400 * 1048576 && snapshots++ === 0) console.log(writeHeapSnapshot(process.env.SNAPSHOT))
}, 1000)
const statuses = await Promise.all(
  Array.from({ length: 64 }, () =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${url}/models/blob/jobs`, { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end(blob)
    }),
  ),
)
clearInterval(sampler)
console.log(`statuses ${JSON.stringify(statuses.reduce<Record<number, number>>((a, s) => ((a[s] = (a[s] ?? 0) + 1), a), {}))}; peak Buffers ${mib(peakAll)} MiB, peak live ${mib(peakLive)} MiB`)
agent.destroy()
await app.close()
await stack.close()
await rm(dir, { recursive: true, force: true })
await once(process, 'beforeExit')
