import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { InvokeEndpointAsyncCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'
import type { LocalEndpointDefinition } from '../../src/local/defaults.js'

/** The summarizer only, one invocation at a time, so most jobs are still queued when a test kills something. */
export const summarizeOnly: LocalEndpointDefinition[] = [
  { name: 'summarize-async', mode: 'async', handler: 'summarize', maxConcurrentInvocationsPerInstance: 1, instanceCount: 1 },
]

const WORDS = 'model queue runtime crash restart durable stack server bucket object failure output river mountain city budget bus night route council'.split(' ')

/** A text long enough that summarizing it takes a noticeable moment (TextRank is O(n²) in sentences). */
export function longText(seed: number, sentenceCount: number): string {
  const sentences: string[] = []
  for (let i = 0; i < sentenceCount; i++) {
    const words: string[] = []
    for (let k = 0; k < 12; k++) words.push(`${WORDS[(i * 7 + k * k + seed) % WORDS.length]}${(i * 31 + k) % 97}`)
    sentences.push(`${words.join(' ')}.`)
  }
  return sentences.join(' ')
}

export interface SubmittedJob {
  inferenceId: string
  output: string
  failure: string
}

/** Puts `count` inputs in S3, then submits them all (InvokeEndpointAsync), as the gateway would. */
export async function submitSummaries(
  s3: S3Client,
  sagemaker: SageMakerRuntimeClient,
  o: { bucket: string; count: number; prefix: string; sentences?: number },
): Promise<SubmittedJob[]> {
  const inputs: string[] = []
  for (let i = 0; i < o.count; i++) {
    const key = `inputs/${o.prefix}-${i}.txt`
    await s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: longText(i, o.sentences ?? 2500), ContentType: 'text/plain' }))
    inputs.push(`s3://${o.bucket}/${key}`)
  }
  const jobs: SubmittedJob[] = []
  for (const [i, input] of inputs.entries()) {
    const inferenceId = `${o.prefix}-${i}`
    const out = await sagemaker.send(
      new InvokeEndpointAsyncCommand({ EndpointName: 'summarize-async', InputLocation: input, InferenceId: inferenceId, ContentType: 'text/plain' }),
    )
    jobs.push({ inferenceId, output: out.OutputLocation!, failure: out.FailureLocation! })
  }
  return jobs
}

async function exists(s3: S3Client, uri: string): Promise<boolean> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!
  try {
    await s3.send(new HeadObjectCommand({ Bucket: m[1], Key: m[2] }))
    return true
  } catch (err) {
    if ((err as Error).name === 'NotFound') return false
    throw err
  }
}

export type JobState = 'output' | 'failure' | 'pending'

/** What S3 says about a job, as the gateway derives it. */
export async function jobState(s3: S3Client, job: SubmittedJob): Promise<JobState> {
  if (await exists(s3, job.output)) return 'output'
  return (await exists(s3, job.failure)) ? 'failure' : 'pending'
}

/** Polls until every job has an output or failure object (bounded); resolves with their states. */
export async function waitAllTerminal(s3: S3Client, jobs: SubmittedJob[], timeoutMs = 90_000): Promise<Map<string, JobState>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const states = new Map<string, JobState>()
    for (const job of jobs) states.set(job.inferenceId, await jobState(s3, job))
    const pending = [...states].filter(([, s]) => s === 'pending').map(([id]) => id)
    if (pending.length === 0) return states
    if (Date.now() > deadline) throw new Error(`jobs still pending: ${pending.join(', ')}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function countStates(s3: S3Client, jobs: SubmittedJob[]): Promise<Record<JobState, number>> {
  const counts: Record<JobState, number> = { output: 0, failure: 0, pending: 0 }
  for (const job of jobs) counts[await jobState(s3, job)]++
  return counts
}

export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

/** A pino logger whose lines are kept (parsed) for assertions. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      done()
    },
  })
  return { logger: pino({ level }, sink), lines }
}

/** Polls a condition (bounded). */
export async function eventually(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** True while a process with this pid exists. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
