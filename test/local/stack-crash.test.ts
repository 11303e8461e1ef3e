import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { createS3Client } from '../../src/clients/aws.js'
import type { LocalStackInfo } from '../../src/local/stack.js'
import { eventually, submitSummaries, waitAllTerminal } from './crash-helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/run-stack.ts', import.meta.url))

interface RunningStack {
  info: LocalStackInfo
  /** Kills the whole process group (the supervisor and its three children) at once. */
  killAll(): void
}

/** Starts the stack (supervisor + children) in its own process group, like `npm start` in a terminal. */
async function startDetached(t: Test, dataDir: string): Promise<RunningStack> {
  // Same loader as this test (tap's TypeScript import hook).
  const child = spawn(process.execPath, [...process.execArgv, fixture, dataDir], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] })
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
    }
  }
  t.teardown(killAll)
  // Read stdout to its end (the parts log there too, and a full pipe would stall them).
  const lines = createInterface({ input: child.stdout! })
  return new Promise<RunningStack>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve({ info: (JSON.parse(line.slice(6)) as { info: LocalStackInfo }).info, killAll })
      else if (process.env.TEST_LOG_LEVEL !== undefined) t.comment(line)
    })
    lines.once('close', () => reject(new Error('the stack exited before it was ready')))
  })
}

function clients(t: Test, info: LocalStackInfo) {
  const s3 = createS3Client({ region: info.region, endpoint: info.s3.endpoint, credentials: info.credentials, forcePathStyle: true })
  const sagemaker = new SageMakerRuntimeClient({ region: info.region, endpoint: info.sagemaker.endpoint, credentials: info.credentials })
  t.teardown(() => {
    s3.destroy()
    sagemaker.destroy()
  })
  return { s3, sagemaker }
}

const refuses = async (url: string): Promise<boolean> => fetch(url).then(() => false, () => true)

t.test('SIGKILL of the whole stack loses no accepted job: after a restart every job ends', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-crash-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  const first = await startDetached(t, dataDir)
  const before = clients(t, first.info)
  const jobs = await submitSummaries(before.s3, before.sagemaker, { bucket: first.info.s3.bucket, count: 20, prefix: 'crash', sentences: 1500 })
  // Some done, one running, the rest queued: the state the measured crash left behind.
  const outputs = async () =>
    (await before.s3.send(new ListObjectsV2Command({ Bucket: first.info.s3.bucket, Prefix: 'async-inference/summarize-async/output/' }))).KeyCount ?? 0
  await eventually('two jobs done', async () => (await outputs()) >= 2)
  first.killAll()
  await eventually('the first stack gone', async () => (await refuses(`${first.info.s3.endpoint}/`)) && (await refuses(`${first.info.sagemaker.endpoint}/ping`)))
  const persisted = async () => (await readdir(join(dataDir, 'runtime', 'async-queue'))).filter((f) => f.endsWith('.json')).length
  const unfinished = await persisted()
  t.ok(unfinished > 0 && unfinished < 20, `${unfinished} of 20 jobs were not finished at the kill`)

  const second = await startDetached(t, dataDir)
  const after = clients(t, second.info)
  const states = await waitAllTerminal(after.s3, jobs)
  t.equal(states.size, 20)
  t.same([...states.values()].filter((s) => s !== 'output'), [], 'every job has its output')
  await eventually('the persisted queue emptied', async () => (await persisted()) === 0)
  second.killAll()
})
