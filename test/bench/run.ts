/**
 * The benchmark (`npm run bench`, not part of the tests): named scenarios, each against a reference
 * measured in the same run, with their ratios. BENCH_SUITES picks them (default all but tus):
 *   upload   — for each size, alternating A B C A B C so drift hits all alike:
 *              direct  — a lib-storage Upload of the bytes straight to the local S3 (the reference);
 *              gateway — the same bytes POSTed to the gateway (its own process), which streams them to the same S3;
 *              sink    — the same through a second gateway whose S3 throws the bytes away (the gateway's ceiling);
 *              with each gateway process's peak RSS (VmHWM, reset before every upload);
 *   tus      — (BENCH_SUITES=…,tus) the same bytes as a resumable upload (tus-js-client, 64 MiB PATCHes)
 *              to the first gateway's /uploads, compared with its plain jobs route in the same round;
 *   realtime — echo on a multi-model endpoint through the gateway vs the SDK's InvokeEndpoint (realtime.ts);
 *   burst    — status polls, then 1,000 small jobs at concurrency 64 vs the same SDK calls per job (burst.ts);
 *   uploads  — 64 concurrent 16 MiB uploads and the gateway's peak RSS (burst.ts).
 * It prints each scenario's figures, then the README's performance table (table.ts), and writes the
 * figures as JSON to test/bench/results/; BENCH_README=1 also writes the table into README.md
 * (`npm run bench:readme` does that from the newest results file).
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import * as tus from 'tus-js-client'
import { createS3Client } from '../../src/clients/aws.js'
import { LOCAL_BUCKET, localEndpoints } from '../../src/local/defaults.js'
import { startLocalStack } from '../../src/local/stack.js'
import { benchBurst, type BurstResults } from './burst.js'
import { benchRealtime, copyArtifacts } from './realtime.js'
import { benchTable, withTable } from './table.js'
import { startGatewayProcess } from './gateway-process.js'
import { startSinkS3 } from './sink-s3.js'

const MiB = 1024 * 1024
const suites = (process.env.BENCH_SUITES ?? 'upload,realtime,burst,uploads').split(',')
const TUS_CHUNK = 64 * MiB
const sizes = (process.env.BENCH_SIZES_MIB ?? '128,256,1024').split(',').map((s) => Number(s) * MiB)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const partSizeBytes = 8 * MiB
const queueSize = 4
const root = fileURLToPath(new URL('../../../', import.meta.url)) // dist/test/bench → repo root

/** `size` bytes from a reused random block: cheap to produce, incompressible. */
function source(size: number): Readable {
  const block = randomBytes(MiB)
  let left = size
  return new Readable({
    highWaterMark: MiB,
    read() {
      if (left <= 0) return void this.push(null)
      const n = Math.min(left, block.length)
      left -= n
      this.push(n === block.length ? block : block.subarray(0, n))
    },
  })
}

function post(url: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    source(size).pipe(req)
  })
}

/** A resumable upload of `size` bytes with tus-js-client (streamed from `source`, one PATCH per chunk). */
function tusUpload(url: string, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let jobLocation = ''
    const upload = new tus.Upload(source(size), {
      endpoint: `${url}/uploads`,
      uploadSize: size,
      chunkSize: TUS_CHUNK,
      retryDelays: [],
      metadata: { model: 'bench', filetype: 'application/octet-stream' },
      onAfterResponse: (_req, res) => {
        jobLocation = res.getHeader('Job-Location') ?? jobLocation
      },
      onSuccess: () => (jobLocation === '' ? reject(new Error('no Job-Location')) : resolve(jobLocation)),
      onError: reject,
    })
    upload.start()
  })
}

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
}
/** Writing 5 to clear_refs resets the peak RSS counter (Linux ≥ 4.0), so each upload gets its own peak. */
const resetPeak = (pid: number) => writeFile(`/proc/${pid}/clear_refs`, '5').catch(() => undefined)

function startGateway(env: Record<string, string>, configPath: string): Promise<{ url: string; child: ChildProcess }> {
  return startGatewayProcess({ ...env, SAGEGATE_CONFIG: configPath, LOG_LEVEL: 'warn', SAGEGATE_LOCAL: 'false' })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * The bench endpoint's model container: it accepts an invocation and never reads it, so the jobs
 * the bench creates cost nothing while later uploads are measured (the runtime runs one at a time).
 */
async function idleContainer(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    if (req.url === '/ping') res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections()
      server.close()
    },
  }
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-bench-'))
  const logger = pino({ level: 'warn' })
  const container = await idleContainer()
  // The local stack's parts in their own processes, as `npm start` runs them.
  const stack = await startLocalStack({
    dataDir,
    mode: 'processes',
    logger,
    logLevel: 'error',
    endpoints: [
      { name: 'bench-async', mode: 'async', containerUrl: container.url, maxConcurrentInvocationsPerInstance: 1, instanceCount: 1 },
      ...localEndpoints.filter((e) => e.name === 'mme-realtime'),
    ],
  })
  // Artifacts that no call has loaded yet, for the multi-model cold-start figures.
  const coldNames = Array.from({ length: 5 }, (_, i) => `echo-cold-${i}`)
  await copyArtifacts(stack, coldNames)
  const sink = await startSinkS3()
  const configPath = join(dataDir, 'bench.yaml')
  await writeFile(
    configPath,
    `models:\n  bench:\n    mode: async\n    endpointName: bench-async\n    contentTypes: [application/octet-stream]\n    maxBytes: ${1024 * MiB}\n` +
      `upload:\n  partSizeBytes: ${partSizeBytes}\n  queueSize: ${queueSize}\n` +
      `multiModelEndpoints:\n  mme-realtime:\n    modelDataUrl: s3://${LOCAL_BUCKET}/models/mme-realtime/\n`,
  )
  const common = {
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    SAGEGATE_BUCKET: LOCAL_BUCKET,
    SAGEGATE_SAGEMAKER_ENDPOINT: stack.sagemaker.endpoint,
  }
  const toS3 = await startGateway({ ...common, SAGEGATE_S3_ENDPOINT: stack.s3.endpoint }, configPath)
  const toSink = await startGateway({ ...common, SAGEGATE_S3_ENDPOINT: sink.url }, configPath)
  const s3 = createS3Client({ region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true })

  const results: Array<Record<string, number>> = []
  let realtime: Awaited<ReturnType<typeof benchRealtime>> | undefined
  try {
    for (const size of suites.includes('upload') ? sizes : []) {
      const runs = { direct: [] as number[], gateway: [] as number[], sink: [] as number[], tus: [] as number[], gatewayRss: [] as number[], sinkRss: [] as number[], tusRss: [] as number[] }
      for (let round = 0; round < rounds; round++) {
        let t0 = performance.now()
        const key = `bench/direct-${round}`
        await new Upload({ client: s3, params: { Bucket: LOCAL_BUCKET, Key: key, Body: source(size) }, partSize: partSizeBytes, queueSize }).done()
        runs.direct.push(size / MiB / ((performance.now() - t0) / 1000))
        await s3.send(new DeleteObjectCommand({ Bucket: LOCAL_BUCKET, Key: key }))

        for (const [name, gw] of [['gateway', toS3], ['sink', toSink]] as const) {
          await resetPeak(gw.child.pid!)
          t0 = performance.now()
          const res = await post(`${gw.url}/models/bench/jobs`, size)
          const seconds = (performance.now() - t0) / 1000
          if (res.status !== 202) throw new Error(`${name}: ${res.status} ${res.body}`)
          runs[name].push(size / MiB / seconds)
          runs[name === 'gateway' ? 'gatewayRss' : 'sinkRss'].push(await peakRssMiB(gw.child.pid!))
          const id = (JSON.parse(res.body) as { id: string }).id
          if (name === 'gateway') await s3.send(new DeleteObjectCommand({ Bucket: LOCAL_BUCKET, Key: `sagegate/jobs/${id}/input` }))
        }
        if (suites.includes('tus')) {
          await resetPeak(toS3.child.pid!)
          t0 = performance.now()
          const location = await tusUpload(toS3.url, size)
          runs.tus.push(size / MiB / ((performance.now() - t0) / 1000))
          runs.tusRss.push(await peakRssMiB(toS3.child.pid!))
          const id = location.split('/').pop()!
          for (const key of [`sagegate/jobs/${id}/input`, `sagegate/jobs/${id}/input.info`]) await s3.send(new DeleteObjectCommand({ Bucket: LOCAL_BUCKET, Key: key }))
        }
      }
      results.push({
        sizeMiB: size / MiB,
        directMiBps: median(runs.direct),
        gatewayMiBps: median(runs.gateway),
        sinkMiBps: median(runs.sink),
        gatewayToDirect: median(runs.gateway.map((g, i) => g / runs.direct[i]!)),
        gatewayPeakRssMiB: Math.max(...runs.gatewayRss),
        sinkGatewayPeakRssMiB: Math.max(...runs.sinkRss),
        ...(runs.tus.length > 0
          ? { tusMiBps: median(runs.tus), tusToJobsRoute: median(runs.tus.map((v, i) => v / runs.gateway[i]!)), tusPeakRssMiB: Math.max(...runs.tusRss) }
          : {}),
      })
    }
    if (suites.includes('realtime')) realtime = await benchRealtime(stack, toS3, coldNames)
  } finally {
    s3.destroy()
    for (const gw of [toS3, toSink]) gw.child.kill('SIGTERM')
    await sink.close()
    await stack.close()
    container.close()
    await rm(dataDir, { recursive: true, force: true })
  }

  // The burst, polls and concurrent uploads run on a stack and gateway of their own.
  let burst: BurstResults | undefined
  const withBurst = suites.includes('burst')
  const withUploads = suites.includes('uploads')
  if (withBurst || withUploads) {
    console.log(`\n${withBurst ? 'status polls and job burst' : ''}${withBurst && withUploads ? ', then ' : ''}${withUploads ? 'concurrent uploads' : ''}`)
    burst = await benchBurst(withBurst && withUploads ? {} : { only: withBurst ? 'burst' : 'uploads' })
  }

  const f = (n: number, d = 1) => n.toFixed(d)
  if (results.length > 0) printUploads(results, f)
  if (realtime !== undefined) {
    console.log('\nreal-time benchmark — echo on the multi-model endpoint: gateway vs SDK InvokeEndpoint (same endpoint, same run)')
    console.log('body  | direct p50 ms | gateway p50 ms | added p50 ms | direct p99 ms | gateway p99 ms | added p99 ms | direct rps c16 | gateway rps c16 | ratio')
    for (const r of realtime.rows) {
      const n = (k: string, d = 2) => f(r[k] as number, d)
      console.log(
        `${String(r.body).padEnd(5)} | ${n('directP50Ms').padStart(13)} | ${n('gatewayP50Ms').padStart(14)} | ${n('addedP50Ms').padStart(12)} | ${n('directP99Ms').padStart(13)} | ${n('gatewayP99Ms').padStart(14)} | ${n('addedP99Ms').padStart(12)} | ${n('directRps16', 0).padStart(14)} | ${n('gatewayRps16', 0).padStart(15)} | ${n('rpsRatio16', 3)}`,
      )
    }
    const m = realtime.mme
    console.log(`multi-model cold start through the gateway (${m.models} models): cold p50 ${f(m.coldP50Ms)} ms (max ${f(m.coldMaxMs)}), warm p50 ${f(m.warmP50Ms)} ms (max ${f(m.warmMaxMs)})`)
  }
  const outDir = join(root, 'test/bench/results')
  await mkdir(outDir, { recursive: true })
  const out = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  const all = { partSizeBytes, queueSize, rounds, node: process.version, cpus: cpus().length, uploads: results, realtime, burst }
  await writeFile(out, `${JSON.stringify(all, null, 2)}\n`)
  console.log(`\nwrote ${out}`)
  const table = benchTable(all)
  console.log(`\n${table}`)
  if (process.env.BENCH_README === '1') {
    const readme = join(root, 'README.md')
    await writeFile(readme, withTable(await readFile(readme, 'utf8'), table))
    console.log('\nREADME.md: performance table written')
  }
}

function printUploads(results: Array<Record<string, number>>, f: (n: number, d?: number) => string) {
  console.log(`\nupload benchmark — ${rounds} rounds per size, medians; partSize ${partSizeBytes / MiB} MiB × queueSize ${queueSize}`)
  console.log('size MiB | direct MiB/s | gateway MiB/s | gateway/direct | sink MiB/s | gateway peak RSS MiB | sink-gateway peak RSS MiB')
  for (const r of results) {
    console.log(
      `${String(r.sizeMiB).padStart(8)} | ${f(r.directMiBps!).padStart(12)} | ${f(r.gatewayMiBps!).padStart(13)} | ${f(r.gatewayToDirect!, 3).padStart(14)} | ${f(r.sinkMiBps!).padStart(10)} | ${f(r.gatewayPeakRssMiB!).padStart(20)} | ${f(r.sinkGatewayPeakRssMiB!).padStart(25)}`,
    )
  }
  if (results.some((r) => r.tusMiBps !== undefined)) {
    console.log(`\nresumable uploads (tus, ${TUS_CHUNK / MiB} MiB PATCHes) vs the jobs route, same gateway, same rounds`)
    console.log('size MiB | jobs route MiB/s | tus MiB/s | tus/jobs route | gateway peak RSS during tus MiB')
    for (const r of results) {
      console.log(`${String(r.sizeMiB).padStart(8)} | ${f(r.gatewayMiBps!).padStart(16)} | ${f(r.tusMiBps!).padStart(9)} | ${f(r.tusToJobsRoute!, 3).padStart(14)} | ${f(r.tusPeakRssMiB!).padStart(31)}`)
    }
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
