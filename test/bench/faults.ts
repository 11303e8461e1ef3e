/**
 * Fault benchmark (`npm run bench:faults`, not part of the tests): the figures behind the README's
 * Production section, measured with real processes as `npm start` runs them, default settings:
 *   - S3 frozen (SIGSTOP of the local S3 process): time to an answer for a status poll, a result
 *     read and uploads (started before the freeze, and streaming when it comes), and real-time
 *     predict latency (healthy vs frozen, past the listing TTL);
 *   - 20 clients that send 9 MiB each and go silent: the gateway's memory before, while they hang,
 *     and after the idle timeout (the gateway collects garbage every 500 ms here, so the figures are
 *     live memory);
 *   - SIGTERM with 3 uploads in flight past the drain deadline: answers, exit code, multipart
 *     uploads left.
 */
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3'
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { createS3Client } from '../../src/clients/aws.js'
import { LOCAL_BUCKET, localModels, localMultiModelEndpoints } from '../../src/local/defaults.js'
import { startLocalStack, type LocalStack } from '../../src/local/stack.js'
import { localStackEnv, startGatewayProcess } from './gateway-process.js'

const MiB = 1024 * 1024
const IDLE_TIMEOUT_MS = 10_000

/** Collects garbage every 500 ms in the gateway, so its memory figures show what is live, not what awaits a GC. */
const GC_OFTEN = ['--expose-gc', '--import', 'data:text/javascript,setInterval(() => globalThis.gc(), 500).unref()']

function startGateway(stack: LocalStack, configPath: string, env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  return startGatewayProcess({ ...localStackEnv(stack, configPath), ...env }, GC_OFTEN)
}

/** Sends `bytes` of a body and keeps the request open (it neither ends nor closes it). */
function silentUpload(url: string, bytes: number): { answer: Promise<number>; destroy(): void } {
  const req = request(url, { method: 'POST', headers: { 'content-type': 'text/plain' } })
  const answer = new Promise<number>((resolve) => {
    req.on('response', (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0))))
    req.on('error', () => resolve(0))
  })
  const chunk = Buffer.alloc(MiB, 't')
  for (let i = 0; i < bytes / MiB; i++) req.write(chunk)
  return { answer, destroy: () => void req.destroy() }
}

/** Sends `bytes` at about `bytesPerSecond`, then ends; resolves with the answer's status (0 if none). */
function slowUpload(url: string, bytes: number, bytesPerSecond: number): Promise<number> {
  const req = request(url, { method: 'POST', headers: { 'content-type': 'text/plain' } })
  const answer = new Promise<number>((resolve) => {
    req.on('response', (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0))))
    req.on('error', () => resolve(0))
  })
  const chunk = Buffer.alloc(bytesPerSecond / 10, 's')
  let sent = 0
  const timer = setInterval(() => {
    if (req.destroyed || sent >= bytes) {
      clearInterval(timer)
      if (!req.destroyed) req.end()
      return
    }
    req.write(chunk)
    sent += chunk.length
  }, 100)
  return answer.finally(() => clearInterval(timer))
}

async function timed(call: () => Promise<Response>): Promise<{ ms: number; status: number; code?: string }> {
  const t0 = performance.now()
  const res = await call()
  const ms = performance.now() - t0
  const text = await res.text()
  let code: string | undefined
  try {
    code = (JSON.parse(text) as { code?: string }).code
  } catch {
    code = undefined
  }
  return { ms, status: res.status, ...(code ? { code } : {}) }
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!

async function predictLatencies(url: string, n: number): Promise<{ p50: number; p99: number; failures: number }> {
  const ms: number[] = []
  let failures = 0
  for (let i = 0; i < n; i++) {
    const r = await timed(() => fetch(`${url}/models/echo/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'ping' }))
    if (r.status !== 200) failures++
    ms.push(r.ms)
  }
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), failures }
}

async function memory(url: string): Promise<{ rssMiB: number; heapMiB: number; externalMiB: number }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const get = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / MiB
  return { rssMiB: get('sagegate_process_resident_memory_bytes'), heapMiB: get('sagegate_nodejs_heap_size_used_bytes'), externalMiB: get('sagegate_nodejs_external_memory_bytes') }
}

const metric = async (url: string, line: RegExp) => Number(line.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0)

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-bench-faults-'))
  const stack = await startLocalStack({ dataDir, mode: 'processes', logger: pino({ level: 'warn' }), logLevel: 'error' })
  const configPath = join(dataDir, 'faults.json')
  // The listing TTL at its minimum, so that the frozen-S3 predicts below run on a stale listing.
  const mme = Object.fromEntries(Object.entries(localMultiModelEndpoints).map(([k, v]) => [k, { ...v, discoveryTtlMs: 1000 }]))
  await writeFile(configPath, JSON.stringify({ models: localModels, multiModelEndpoints: mme }))
  const gw = await startGateway(stack, configPath, { SAGEGATE_UPLOAD_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) })
  const s3 = createS3Client({ region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true })
  const s3Pid = stack.processes().find((p) => p.role === 's3')!.pid
  const openUploads = async () => (await s3.send(new ListMultipartUploadsCommand({ Bucket: LOCAL_BUCKET }))).Uploads?.length ?? 0
  const out: Record<string, unknown> = { node: process.version }
  try {
    // A completed job to read the result of.
    const job = (await (await fetch(`${gw.url}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'One. Two. Three.' })).json()) as { id: string }
    await until(async () => ((await (await fetch(`${gw.url}/jobs/${job.id}`)).json()) as { status: string }).status === 'completed', 30_000)
    const healthy = await predictLatencies(gw.url, 200)

    process.kill(s3Pid, 'SIGSTOP')
    const frozen: Record<string, unknown> = {}
    try {
      await new Promise((r) => setTimeout(r, 1100)) // past the listing TTL
      frozen.predict = await predictLatencies(gw.url, 200)
      frozen.statusPoll = await timed(() => fetch(`${gw.url}/jobs/AAAAAAAAAAAAAAAAAAAAAA`))
      frozen.resultRead = await timed(() => fetch(`${gw.url}/jobs/${job.id}/result`))
      frozen.smallUpload = await timed(() => fetch(`${gw.url}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'A short text.' }))
      frozen.largeUpload = await timed(() =>
        fetch(`${gw.url}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: Buffer.alloc(9 * MiB, 'x') }),
      )
      frozen.readyz = await timed(() => fetch(`${gw.url}/readyz`))
    } finally {
      process.kill(s3Pid, 'SIGCONT')
    }
    const thawed = performance.now()
    await until(async () => (await openUploads()) === 0, 120_000)
    frozen.cleanupAfterThawMs = performance.now() - thawed
    // An upload already streaming when S3 freezes: from the freeze to the answer.
    const streaming = slowUpload(`${gw.url}/models/summarize/jobs`, 9 * MiB, 2 * MiB)
    await until(async () => (await openUploads()) >= 1, 30_000)
    process.kill(s3Pid, 'SIGSTOP')
    const frozeAt = performance.now()
    try {
      frozen.uploadInFlight = { status: await streaming, msAfterFreeze: performance.now() - frozeAt }
    } finally {
      process.kill(s3Pid, 'SIGCONT')
    }
    await until(async () => (await openUploads()) === 0, 120_000)
    out.healthyPredict = healthy
    out.frozenS3 = frozen

    // 20 silent clients.
    const before = await memory(gw.url)
    const clients = Array.from({ length: 20 }, () => silentUpload(`${gw.url}/models/summarize/jobs`, 9 * MiB))
    await until(async () => (await metric(gw.url, /^sagegate_uploads_in_flight (\d+)/m)) === 20, 30_000)
    await new Promise((r) => setTimeout(r, 3000)) // let them send what they send
    const hanging = await memory(gw.url)
    const answers = await Promise.all(clients.map((c) => c.answer))
    await new Promise((r) => setTimeout(r, 2000))
    const after = await memory(gw.url)
    await until(async () => (await openUploads()) === 0, 30_000)
    out.silentClients = { idleTimeoutMs: IDLE_TIMEOUT_MS, before, hanging, after, answers: countBy(answers), multipartUploadsLeft: await openUploads() }
    gw.child.kill('SIGTERM')
    await once(gw.child, 'exit')

    // SIGTERM with 3 uploads in flight, past a 2 s drain deadline.
    const draining = await startGateway(stack, configPath, { SAGEGATE_DRAIN_TIMEOUT_MS: '2000' })
    const ups = Array.from({ length: 3 }, () => silentUpload(`${draining.url}/models/summarize/jobs`, 9 * MiB))
    await until(async () => (await metric(draining.url, /^sagegate_uploads_in_flight (\d+)/m)) === 3, 30_000)
    await until(async () => (await openUploads()) === 3, 30_000)
    const t0 = performance.now()
    const exited = once(draining.child, 'exit')
    draining.child.kill('SIGTERM')
    const sigtermAnswers = await Promise.all(ups.map((u) => u.answer))
    const [code] = (await exited) as [number | null]
    out.sigterm = { drainTimeoutMs: 2000, answers: sigtermAnswers, exitCode: code, exitAfterMs: performance.now() - t0, multipartUploadsLeft: await openUploads() }
  } finally {
    s3.destroy()
    gw.child.kill('SIGKILL')
    await stack.close()
    await rm(dataDir, { recursive: true, force: true })
  }
  console.log(JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v), 2))
}

function countBy(xs: number[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const x of xs) counts[x] = (counts[x] ?? 0) + 1
  return counts
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
