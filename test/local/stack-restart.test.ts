import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createS3Client } from '../../src/clients/aws.js'
import { startLocalStack } from '../../src/local/stack.js'
import { capturingLogger, countStates, eventually, isRunning, submitSummaries, summarizeOnly, waitAllTerminal } from './crash-helpers.js'

// One stack in 'processes' mode for the whole file: forking its three parts is the slow part.
const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-restart-'))
t.teardown(() => rm(dataDir, { recursive: true, force: true }))
const { logger, lines } = capturingLogger('warn')
const stack = await startLocalStack({
  dataDir,
  mode: 'processes',
  logger,
  logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
  endpoints: summarizeOnly,
  restartPolicy: { initialDelayMs: 50, maxDelayMs: 1000, stableAfterMs: 60_000 },
})
t.teardown(() => stack.close())
const s3 = createS3Client({ region: stack.region, endpoint: stack.s3.endpoint, credentials: stack.credentials, forcePathStyle: true })
t.teardown(() => s3.destroy())
const sagemaker = new SageMakerRuntimeClient({ region: stack.region, endpoint: stack.sagemaker.endpoint, credentials: stack.credentials })
t.teardown(() => sagemaker.destroy())
const bucket = stack.s3.bucket

const pidOf = (role: string): number | undefined => stack.processes().find((p) => p.role === role)?.pid
const stats = async () => (await (await fetch(`${stack.sagemaker.endpoint}/_local/endpoints/summarize-async/stats`)).json()) as { backlog: number; inFlight: number }

t.test('every part runs in its own process', async (t) => {
  t.same(stack.processes().map((p) => p.role), ['s3', 'model-host', 'runtime'])
  for (const { role, pid } of stack.processes()) t.ok(pid !== process.pid && isRunning(pid), `${role} runs as pid ${pid}`)
})

t.test('a killed runtime comes back on its URL and finishes every queued job', async (t) => {
  const jobs = await submitSummaries(s3, sagemaker, { bucket, count: 8, prefix: 'runtime-kill' })
  const old = pidOf('runtime')!
  process.kill(old, 'SIGKILL')
  t.ok((await countStates(s3, jobs)).pending > 0, 'jobs were still queued at the kill')

  await eventually('a new runtime process', () => (pidOf('runtime') ?? old) !== old)
  const states = await waitAllTerminal(s3, jobs)
  t.same([...states.values()].filter((s) => s !== 'output'), [], 'every job has its output')
  t.equal((await fetch(`${stack.sagemaker.endpoint}/ping`)).status, 200, 'same runtime URL')
  const crash = lines.find((l) => l.msg === 'local stack process died' && l.role === 'runtime')
  t.match(crash, { level: 50, pid: old, signal: 'SIGKILL' }, 'the crash is logged at error with its pid')
  t.match(lines.find((l) => l.msg === 'local stack process restarted' && l.role === 'runtime'), { level: 40, pid: pidOf('runtime') })
})

t.test('a killed model host comes back on its container port; jobs it was running are retried', async (t) => {
  const jobs = await submitSummaries(s3, sagemaker, { bucket, count: 6, prefix: 'host-kill' })
  const spooled = async () => (await readdir(join(dataDir, 'tmp'))).filter((f) => f.endsWith('.body'))
  await eventually('a job in flight at the model host', async () => (await stats()).inFlight > 0 && (await spooled()).length > 0)
  const old = pidOf('model-host')!
  process.kill(old, 'SIGKILL')
  const left = await spooled()

  await eventually('a new model host process', () => (pidOf('model-host') ?? old) !== old)
  t.same((await spooled()).filter((f) => left.includes(f)), [], 'the body the dead host spooled is removed')
  const states = await waitAllTerminal(s3, jobs)
  t.same([...states.values()].filter((s) => s !== 'output'), [], 'no job failed for the container being down')
  t.ok(lines.some((l) => l.msg === 'local stack process died' && l.role === 'model-host' && l.pid === old))

  // The runtime still holds the model host's original URL: a new job proves it is the same port.
  const after = await submitSummaries(s3, sagemaker, { bucket, count: 1, prefix: 'after-host-kill' })
  t.same([...(await waitAllTerminal(s3, after)).values()], ['output'])
})

t.test('close() stops every part, also one in the middle of restarting', async (t) => {
  const pids = stack.processes().map((p) => p.pid)
  process.kill(pidOf('s3')!, 'SIGKILL')
  await eventually('the s3 restart under way', () => lines.some((l) => l.msg === 'restarting local stack process' && l.role === 's3'))
  const restarting = lines.find((l) => l.msg === 'restarting local stack process' && l.role === 's3')!.pid as number
  await stack.close()
  for (const pid of [...pids, restarting]) t.notOk(isRunning(pid), `pid ${pid} is gone`)
  t.same(stack.processes(), [])
  await t.rejects(fetch(`${stack.sagemaker.endpoint}/ping`), 'the runtime URL no longer answers')
})
