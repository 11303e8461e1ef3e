import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import type { Test } from 'tap'
import { createS3Client } from '../../src/clients/aws.js'
import type { ObjectStore } from '../../src/clients/object-store.js'
import { createS3ObjectStore } from '../../src/clients/s3-object-store.js'
import type { Config } from '../../src/config.js'
import { createCleanupQueue } from '../../src/lib/cleanup-queue.js'
import { createStallWatch } from '../../src/lib/stall-watch.js'
import { startLocalStack } from '../../src/local/stack.js'
import type { JobView } from '../../src/services/job-record.js'

export const SECRET = `whsec_${randomBytes(32).toString('base64')}`
export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })

export const webhookConfig = (over: Partial<Config['webhooks']> = {}): Config['webhooks'] => ({
  allowedHosts: ['127.0.0.1'],
  secret: SECRET,
  timeoutMs: 5_000,
  retryForMs: 3_600_000,
  sweepIntervalMs: 100,
  ...over,
})

export const jobView = (id: string, status: JobView['status'] = 'completed'): JobView => ({
  id,
  model: 'summarize',
  status,
  createdAt: '2026-11-29T10:00:00.000Z',
  deadlineAt: '2026-11-29T11:00:00.000Z',
  input: { contentType: 'text/plain', sizeBytes: 5 },
  ...(status === 'completed' ? { result: { contentType: 'application/json', sizeBytes: 20 } } : {}),
  links: { self: `/jobs/${id}`, result: `/jobs/${id}/result` },
})

/** The real local stack's S3 in this process, reached through the gateway's own S3ObjectStore. */
export async function startStore(t: Test): Promise<{ store: ObjectStore; bucket: string; keys(prefix: string): Promise<string[]> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-webhooks-'))
  const stack = await startLocalStack({ dataDir, mode: 'in-process', logger: silent })
  const client = createS3Client({ region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true, attemptTimeoutMs: 10_000 })
  const stallWatch = createStallWatch()
  const cleanup = createCleanupQueue({ logger: silent, attemptTimeoutMs: 5_000 })
  const store = createS3ObjectStore({ client, uploadClient: client, partSizeBytes: 5 * 1024 * 1024, queueSize: 2, stallTimeoutMs: 10_000, stallWatch, cleanup })
  const bucket = stack.s3.bucket
  t.teardown(async () => {
    cleanup.close()
    stallWatch.close()
    client.destroy()
    await stack.close()
    await rm(dataDir, { recursive: true, force: true })
  })
  return { store, bucket, keys: async (prefix) => (await store.list(bucket, prefix, 1000)).map((o) => o.key) }
}

export interface Received {
  headers: IncomingHttpHeaders
  body: string
}

/** A webhook receiver on 127.0.0.1 that answers each request with the status `answer` gives. */
export async function startReceiver(t: Test, answer: (req: Received, index: number) => number = () => 200) {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      received.push(r)
      res.writeHead(answer(r, received.length - 1)).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received }
}

/** Polls `check` until it holds; fails after `timeoutMs` (generous: a slow machine only waits longer). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
