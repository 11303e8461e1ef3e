/**
 * Waits benchmark (`npm run bench:waits`, not part of the tests): what 100 clients following 100
 * running jobs cost in S3 requests, polling `GET /jobs/{id}` every second vs waiting with
 * `GET /jobs/{id}?wait=60` in a loop, measured in the same run on the same gateway. The jobs are held
 * in a model container until the end, so both phases see jobs in progress the whole time. S3 requests
 * are the gateway's own HTTP attempts to S3 (`sagegate_aws_attempts_total{service="s3"}` from its
 * /metrics), so retries count too.
 *
 * Then the webhook latency: jobs with an `X-Webhook-Url`, released one at a time; the time from the
 * output object's appearance in S3 (polled every 10 ms by the bench) to the receiver's first byte.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { buildApp } from '../../src/app.js'
import { createS3Client } from '../../src/clients/aws.js'
import { loadConfig, parseModels, type Config } from '../../src/config.js'
import { startLocalStack } from '../../src/local/stack.js'
import { subscribeLocalTopics } from '../../src/local/sns/subscribe.js'
import { holdingContainer } from '../helpers/holding-container.js'

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 100)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60)
const HOOKS = Number(process.env.BENCH_WEBHOOKS ?? 10)
/** BENCH_SNS=1: the local SNS tells the gateway of each end, as `npm start` wires it. */
const SNS = process.env.BENCH_SNS === '1'
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`

const closers: Array<() => void | Promise<void>> = []
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function s3Requests(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  let sum = 0
  for (const m of text.matchAll(/^sagegate_aws_attempts_total\{[^}]*service="s3"[^}]*\} (\d+)/gm)) sum += Number(m[1])
  return sum
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-bench-waits-'))
  closers.push(() => rm(dataDir, { recursive: true, force: true }))
  const container = await holdingContainer({ teardown: (fn) => closers.push(fn) })
  const logger = pino({ level: 'silent' })
  const stack = await startLocalStack({
    dataDir,
    mode: 'in-process',
    logger,
    endpoints: [{ name: 'held-async', mode: 'async', handler: 'summarize', containerUrl: container.url, maxConcurrentInvocationsPerInstance: CLIENTS + HOOKS, instanceCount: 1 }],
  })
  closers.push(() => stack.close())
  const base = loadConfig({ SAGEGATE_BUCKET: stack.s3.bucket, SAGEGATE_ANONYMOUS: 'true' })
  const config: Config = {
    ...base,
    aws: { ...base.aws, region: stack.region, s3Endpoint: stack.s3.endpoint, sageMakerRuntimeEndpoint: stack.sagemaker.endpoint, s3ForcePathStyle: true },
    limits: { ...base.limits, maxEventLoopDelayMs: 0 },
    models: parseModels({ held: { mode: 'async', endpointName: 'held-async', contentTypes: ['text/plain'], maxBytes: 1024 } }),
    multiModelEndpoints: {},
    webhooks: { ...base.webhooks, allowedHosts: ['127.0.0.1'], secret: SECRET },
    notifications: { topicArns: SNS ? stack.sns.topicArns : [] },
  }
  const app = await buildApp(config, { logger, credentials: stack.credentials, snsTrustedCertificateUrls: [stack.sns.certificateUrl] })
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  closers.push(() => app.close())
  if (SNS) {
    const subscribe = () => subscribeLocalTopics({ url: stack.sns.endpoint, region: stack.region, credentials: stack.credentials, topicArns: stack.sns.topicArns, endpoint: `${baseUrl}/notifications/sns` })
    while ((await subscribe()).some((arn) => arn === 'pending confirmation')) await sleep(50)
  }
  console.log(`SNS notifications ${SNS ? 'on' : 'off'}`)

  const submit = async (headers: Record<string, string> = {}) => {
    const res = await fetch(`${baseUrl}/models/held/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: 'hold me' })
    if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`)
    return ((await res.json()) as { id: string }).id
  }
  const ids = await Promise.all(Array.from({ length: CLIENTS }, () => submit()))
  while (container.held.length < CLIENTS) await sleep(50)

  const phase = async (name: string, client: (id: string, until: number) => Promise<number>) => {
    const before = await s3Requests(baseUrl)
    const until = Date.now() + SECONDS * 1000
    const requests = (await Promise.all(ids.map((id) => client(id, until)))).reduce((a, b) => a + b, 0)
    const s3 = (await s3Requests(baseUrl)) - before
    const perMinute = Math.round((s3 / SECONDS) * 60)
    console.log(`${name}: ${CLIENTS} clients, ${SECONDS} s: ${requests} gateway requests, ${s3} S3 requests = ${perMinute} S3 requests/min`)
    return perMinute
  }
  const polling = await phase('polling every 1 s', async (id, until) => {
    let n = 0
    while (Date.now() < until) {
      const started = Date.now()
      await (await fetch(`${baseUrl}/jobs/${id}`)).arrayBuffer()
      n++
      await sleep(Math.max(0, 1000 - (Date.now() - started)))
    }
    return n
  })
  const waiting = await phase('waiting (?wait=60 in a loop)', async (id, until) => {
    let n = 0
    while (Date.now() < until) {
      const wait = Math.max(1, Math.min(60, Math.ceil((until - Date.now()) / 1000)))
      await (await fetch(`${baseUrl}/jobs/${id}?wait=${wait}`)).arrayBuffer()
      n++
    }
    return n
  })
  console.log(`waiting ÷ polling S3 requests: ${(waiting / polling).toFixed(3)}`)
  container.release()

  // Webhook latency: from the output object's appearance to the receiver's first byte.
  let received: (at: number) => void = () => {}
  const receiver = createServer((req, res) => {
    const at = performance.now()
    req.resume()
    req.on('end', () => {
      res.writeHead(204).end()
      received(at)
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  closers.push(() => void receiver.close())
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  const s3 = createS3Client({ region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true })
  closers.push(() => s3.destroy())
  const latencies: number[] = []
  for (let i = 0; i < HOOKS; i++) {
    const arrival = container.nextArrival()
    const id = await submit({ 'x-webhook-url': hookUrl })
    await arrival
    const job = (await (await fetch(`${baseUrl}/jobs/${id}`)).json()) as { id: string }
    const got = new Promise<number>((r) => (received = r))
    container.release()
    let outputAt = 0
    const key = `async-inference/held-async/output/${job.id}.out`
    while (outputAt === 0) {
      const found = await s3.send(new HeadObjectCommand({ Bucket: stack.s3.bucket, Key: key })).then(() => true, () => false)
      if (found) outputAt = performance.now()
      else await sleep(10)
    }
    latencies.push(Math.max(0, (await got) - outputAt))
  }
  if (HOOKS === 0) return
  latencies.sort((a, b) => a - b)
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(0)
  console.log(`webhook delivery after the output appeared (${HOOKS} jobs, nobody waiting on them, SNS ${SNS ? 'on' : 'off'}): p50 ${at(50)} ms, max ${at(100)} ms`)
}

try {
  await main()
} finally {
  for (const close of closers.reverse()) await close()
}
