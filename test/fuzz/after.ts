/**
 * Before and after a fuzz run: jobs that exist for the job routes to find, and the checks once the
 * requests are done — the gateway healthy and still serving, no upload left in flight, no multipart
 * upload left open, and nothing in S3 but what was there before and what belongs to accepted jobs
 * (their input and record under the gateway's prefix, and the output or failure object the runtime
 * writes later under its own output path, named after the job id).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { TestStack } from '../helpers/stack.js'
import { eventually } from '../helpers/upload-client.js'
import type { FuzzContext, ModelInfo } from './arbitraries.js'

/** Every key in the bucket (all pages). */
export async function listAll(it: TestStack): Promise<string[]> {
  const keys: string[] = []
  let token: string | undefined
  do {
    const page = await it.s3.send(new ListObjectsV2Command({ Bucket: it.bucket, ...(token !== undefined ? { ContinuationToken: token } : {}) }))
    keys.push(...(page.Contents ?? []).map((o) => o.Key!))
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined
  } while (token !== undefined)
  return keys.sort()
}

const wellFormedUnknownId = 'AAAAAAAAAAAAAAAAAAAAAA'

async function postJob(it: TestStack, model: string, type: string, body: string | Buffer, auth: Array<[string, string]>): Promise<string | undefined> {
  const res = await fetch(`${it.baseUrl}/models/${model}/jobs`, { method: 'POST', headers: { ...Object.fromEntries(auth), 'content-type': type }, body })
  return res.status === 202 ? ((await res.json()) as { id: string }).id : undefined
}

async function settled(it: TestStack, id: string, auth: Array<[string, string]>): Promise<void> {
  await eventually(`job ${id} settles`, async () => {
    const res = await fetch(`${it.baseUrl}/jobs/${id}`, { headers: Object.fromEntries(auth) })
    return ((await res.json()) as { status?: string }).status !== 'in_progress'
  }, 60_000)
}

/**
 * A completed job (text to the first async model that takes text/plain) and, where a video model
 * exists, a failed one (junk behind an mp4 signature). Without such models, ids that exist nowhere.
 */
export async function prepareJobs(it: TestStack, ctx: FuzzContext, auth: Array<[string, string]>): Promise<{ completed: string; failed: string }> {
  const asyncTaking = (type: string) => ctx.models.find((m) => m.mode === 'async' && m.contentTypes.some((t) => t === type || t === '*/*'))
  const text = asyncTaking('text/plain')
  const video = asyncTaking('video/mp4')
  const completed = text !== undefined ? await postJob(it, text.name, 'text/plain', 'The council met on Monday. It approved the budget. Buses will run later.', auth) : undefined
  const failed = video !== undefined ? await postJob(it, video.name, 'video/mp4', Buffer.from('\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isomnot a video at all', 'latin1'), auth) : undefined
  for (const id of [completed, failed]) if (id !== undefined) await settled(it, id, auth)
  return { completed: completed ?? wellFormedUnknownId, failed: failed ?? completed ?? wellFormedUnknownId }
}

export interface AfterInput {
  before: Set<string>
  /** Ids of every job answered 202; control jobs made here are added. */
  accepted: Set<string>
  models: ModelInfo[]
  authHeaders: Array<[string, string]>
  /** How long cleanups (aborts, deletes retried in the background) may take to finish; default 15 s. */
  settleMs?: number
}

/** `check` eventually true, or the failure `what()` describes. */
async function settles(what: () => Promise<string>, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<string[]> {
  try {
    await eventually('fuzz after-check', check, timeoutMs)
    return []
  } catch {
    return [await what()]
  }
}

/** The properties of the whole run; an empty list when they hold. */
export async function checkAfter(it: TestStack, a: AfterInput): Promise<string[]> {
  const headers = Object.fromEntries(a.authHeaders)
  const get = (path: string) => fetch(`${it.baseUrl}${path}`, { headers, signal: AbortSignal.timeout(10_000) })
  const failures: string[] = []
  const health = await get('/healthz')
  if (health.status !== 200) failures.push(`GET /healthz answered ${health.status} after the run`)
  const ready = await get('/readyz')
  if (ready.status !== 200) failures.push(`GET /readyz answered ${ready.status} after the run: ${await ready.text()}`)
  const models = await get('/models')
  const names = models.status === 200 ? ((await models.json()) as { models: ModelInfo[] }).models.map((m) => m.name) : []
  if (names.join() !== a.models.map((m) => m.name).join()) failures.push(`GET /models changed during the run: ${names.join(', ')}`)
  // Still serving: a job and a real-time call that should work, work.
  const text = a.models.find((m) => m.mode === 'async' && m.contentTypes.includes('text/plain'))
  if (text !== undefined) {
    const id = await postJob(it, text.name, 'text/plain', 'One sentence. Another one.', a.authHeaders)
    if (id === undefined) failures.push(`a plain text job to ${text.name} was not accepted after the run`)
    else a.accepted.add(id)
  }
  const anything = a.models.find((m) => m.mode === 'realtime' && m.contentTypes.includes('*/*'))
  if (anything !== undefined) {
    const res = await fetch(`${it.baseUrl}/models/${anything.name}/predict`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: 'ping' })
    if (res.status !== 200) failures.push(`a predict to ${anything.name} answered ${res.status} after the run`)
  }
  const ms = a.settleMs ?? 15_000
  failures.push(...(await settles(async () => `${it.app.lifecycle.activeUploads} uploads still in flight`, () => it.app.lifecycle.activeUploads === 0, ms)))
  failures.push(...(await settles(async () => `${await it.openUploads()} multipart uploads left open`, async () => (await it.openUploads()) === 0, ms)))
  const owned = (key: string) => key.split('/').some((part) => a.accepted.has(part) || a.accepted.has(part.replace(/(-error)?\.out$/, '')))
  const strays = async () => (await listAll(it)).filter((k) => !a.before.has(k) && !owned(k))
  failures.push(...(await settles(async () => `objects left in S3 that belong to no accepted job: ${(await strays()).slice(0, 20).join(', ')}`, async () => (await strays()).length === 0, ms)))
  const pending = async () => Number(/^sagegate_cleanup_pending (\S+)$/m.exec(await (await get('/metrics')).text())?.[1] ?? NaN)
  failures.push(...(await settles(async () => `sagegate_cleanup_pending is ${await pending()}`, async () => (await pending()) === 0, ms)))
  return failures
}
