// The async queue's durable state: one JSON file per accepted InvokeEndpointAsync request, so a
// runtime that dies (SIGKILL, crash) resumes its requests on the next start, as SageMaker's own queue
// would. Layout under the state directory (one runtime process owns it):
//   async-queue/<receivedAtMs>-<seq>-<uuid>.json   a request not yet at its end (format below)
//   tmp/<uuid>                                     being written; wiped at open
//   corrupt/<name>                                 files that could not be read, moved aside
// File names sort in arrival order (receivedAtMs, then this process's sequence number); inference ids
// are not part of the name because duplicates are legal. Writes are a temp file renamed into place, so a
// file is either absent or complete. There is no fsync: this survives the process dying (the page cache
// outlives it), not a power cut, like the local S3 store that holds the inputs.
// A state file is small (an inline body is at most 128,000 bytes): it is written and removed with the
// synchronous calls, which cost this process about 40% of the CPU of the thread-pool round trips of
// fs/promises (55 vs 140 µs per write and rename of a 300-byte file, measured here) and block it for
// about as long.
import { randomUUID } from 'node:crypto'
import { renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { AsyncJob } from './async-job.js'
import type { S3Object } from './s3-paths.js'

const FORMAT_VERSION = 1

/** What a state file holds: the AsyncJob, with an inline body as base64. */
interface JobRecord extends Omit<AsyncJob, 'input'> {
  version: typeof FORMAT_VERSION
  input: { kind: 's3'; location: string } | { kind: 'inline'; base64: string }
}

export interface AsyncJournal {
  /** Persists an accepted request; resolves once its file is in place (before the 202). */
  record(job: AsyncJob): Promise<void>
  /** Forgets a request that reached its end; a failure is logged (the request would run again after a restart). */
  remove(job: AsyncJob): Promise<void>
  /** Every persisted request in arrival order; unreadable files are logged and moved aside. */
  load(): Promise<AsyncJob[]>
}

export async function openAsyncJournal(stateDir: string, logger: Logger): Promise<AsyncJournal> {
  const queueDir = join(stateDir, 'async-queue')
  const tmpDir = join(stateDir, 'tmp')
  const corruptDir = join(stateDir, 'corrupt')
  await rm(tmpDir, { recursive: true, force: true })
  await mkdir(tmpDir, { recursive: true })
  await mkdir(queueDir, { recursive: true })
  // Which file holds which request; the same object travels from the route through the queue.
  const files = new WeakMap<AsyncJob, string>()
  let seq = 0

  async function moveAside(name: string, reason: string): Promise<void> {
    logger.error({ file: join(queueDir, name), reason, movedTo: join(corruptDir, name) }, 'unreadable async request state moved aside')
    try {
      await mkdir(corruptDir, { recursive: true })
      await rename(join(queueDir, name), join(corruptDir, name))
    } catch (err) {
      logger.error({ err, file: join(queueDir, name) }, 'could not move the unreadable state file aside')
    }
  }

  return {
    async record(job) {
      const name = `${String(Math.max(0, Math.trunc(job.receivedAtMs))).padStart(15, '0')}-${String(seq++).padStart(9, '0')}-${randomUUID()}.json`
      const tmp = join(tmpDir, randomUUID())
      writeFileSync(tmp, JSON.stringify(toRecord(job)))
      renameSync(tmp, join(queueDir, name))
      files.set(job, name)
    },
    async remove(job) {
      const name = files.get(job)
      if (name === undefined) return
      files.delete(job)
      try {
        unlinkSync(join(queueDir, name))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          logger.warn({ err, inferenceId: job.inferenceId, file: name }, 'could not remove a finished async request; it runs again after a restart')
        }
      }
    },
    async load() {
      const jobs: AsyncJob[] = []
      for (const name of (await readdir(queueDir)).sort()) {
        if (!name.endsWith('.json')) continue
        let job: AsyncJob | string
        try {
          job = fromRecord(JSON.parse(await readFile(join(queueDir, name), 'utf8')))
        } catch (err) {
          job = (err as Error).message
        }
        if (typeof job === 'string') {
          await moveAside(name, job)
          continue
        }
        files.set(job, name)
        jobs.push(job)
      }
      // The name already sorts by arrival; receivedAtMs orders files written by hand or renamed.
      return jobs.sort((a, b) => a.receivedAtMs - b.receivedAtMs)
    },
  }
}

function toRecord(job: AsyncJob): JobRecord {
  const input = job.input.kind === 'inline' ? { kind: 'inline' as const, base64: job.input.bytes.toString('base64') } : job.input
  return { version: FORMAT_VERSION, ...job, input }
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const optionalString = (v: unknown): boolean => v === undefined || isString(v)

function isS3Object(v: unknown): v is S3Object {
  const o = v as Partial<S3Object> | null
  return typeof o === 'object' && o !== null && isString(o.bucket) && isString(o.key) && isString(o.uri)
}

/** The job a file describes, or why it cannot be used. */
function fromRecord(raw: unknown): AsyncJob | string {
  if (typeof raw !== 'object' || raw === null) return 'not a JSON object'
  const r = raw as Partial<JobRecord> & Record<string, unknown>
  if (r.version !== FORMAT_VERSION) return `unknown format version ${String(r.version)}`
  if (!isString(r.endpointName) || !isString(r.inferenceId) || !isString(r.requestId)) return 'missing endpointName, inferenceId or requestId'
  if (!isNumber(r.receivedAtMs) || !isNumber(r.requestTtlSeconds) || !isNumber(r.invocationTimeoutSeconds)) {
    return 'missing receivedAtMs, requestTtlSeconds or invocationTimeoutSeconds'
  }
  if (!optionalString(r.contentType) || !optionalString(r.accept) || !optionalString(r.customAttributes)) {
    return 'a media type or the custom attributes are not a string'
  }
  const locations = r.locations as Partial<AsyncJob['locations']> | undefined
  if (locations === undefined || !isS3Object(locations.output) || (locations.failure !== undefined && !isS3Object(locations.failure))) {
    return 'missing or invalid locations'
  }
  const input = r.input as Partial<{ kind: string; location: unknown; base64: unknown }> | undefined
  let jobInput: AsyncJob['input']
  if (input?.kind === 's3' && isString(input.location)) jobInput = { kind: 's3', location: input.location }
  else if (input?.kind === 'inline' && isString(input.base64)) jobInput = { kind: 'inline', bytes: Buffer.from(input.base64, 'base64') }
  else return 'missing or invalid input'
  return {
    endpointName: r.endpointName,
    inferenceId: r.inferenceId,
    requestId: r.requestId,
    receivedAtMs: r.receivedAtMs,
    requestTtlSeconds: r.requestTtlSeconds,
    invocationTimeoutSeconds: r.invocationTimeoutSeconds,
    input: jobInput,
    ...(r.contentType !== undefined ? { contentType: r.contentType } : {}),
    ...(r.accept !== undefined ? { accept: r.accept } : {}),
    ...(r.customAttributes !== undefined ? { customAttributes: r.customAttributes } : {}),
    locations: { output: locations.output, failure: locations.failure },
  }
}
