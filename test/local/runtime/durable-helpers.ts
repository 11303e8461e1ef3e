import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import type { S3Client } from '@aws-sdk/client-s3'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createS3Client } from '../../../src/clients/aws.js'
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions, type RuntimeEndpoint } from '../../../src/local/runtime/server.js'
import { startLocalS3 } from '../../../src/local/s3/server.js'
import { capturingLogger, type LogLine } from '../crash-helpers.js'
import { ACCOUNT_ID, BUCKET, CREDENTIALS, REGION } from './helpers.js'

export { eventually } from '../crash-helpers.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface StartedRuntime {
  runtime: LocalRuntime
  sagemaker: SageMakerRuntimeClient
}

export interface RuntimeHarness {
  s3: S3Client
  /** The runtime's state directory; the same for every runtime this harness starts. */
  stateDir: string
  /** Everything the runtimes logged (info and above), parsed. */
  logs: LogLine[]
  /** A runtime on port 0 over the same S3 and state directory (closed at teardown if not before). */
  start(endpoints: RuntimeEndpoint[], extra?: Pick<LocalRuntimeOptions, 'clock' | 'asyncRetry'>): Promise<StartedRuntime>
  /** The persisted requests' file names. */
  stateFiles(): Promise<string[]>
}

/** A local S3 that outlives the runtimes started on it, so a test can stop one runtime and start another. */
export async function runtimeHarness(t: Teardown): Promise<RuntimeHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'sagegate-durable-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const s3Server = await startLocalS3({ dataDir: join(dir, 's3'), credentials: CREDENTIALS, buckets: [BUCKET], port: 0, region: REGION })
  t.teardown(() => s3Server.close())
  const s3 = createS3Client({ region: REGION, endpoint: s3Server.url, credentials: CREDENTIALS, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const stateDir = join(dir, 'runtime')
  const { logger, lines: logs } = capturingLogger()
  return {
    s3,
    stateDir,
    logs,
    async start(endpoints, extra = {}) {
      const runtime = await startLocalRuntime({ region: REGION, accountId: ACCOUNT_ID, credentials: [CREDENTIALS], s3, endpoints, stateDir, logger, ...extra })
      t.teardown(() => runtime.close())
      const sagemaker = new SageMakerRuntimeClient({ region: REGION, endpoint: runtime.url, credentials: CREDENTIALS })
      t.teardown(() => sagemaker.destroy())
      return { runtime, sagemaker }
    },
    async stateFiles() {
      return (await readdir(join(stateDir, 'async-queue'))).filter((f) => f.endsWith('.json'))
    },
  }
}

/**
 * A loopback port that nothing listens on now (a container that is down); a test may listen on it
 * later. It is taken below Linux's ephemeral range (32768-60999), where no server of another test
 * running in parallel lands by listening on port 0: otherwise such a server could take the port in
 * between and answer for the "down" container (a CI run once waited 60 s for a refused connection).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 22_000)
    const server = createServer()
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => resolve(true))
    })
    if (!free) continue
    await new Promise<void>((resolve) => server.close(() => resolve()))
    return port
  }
}
