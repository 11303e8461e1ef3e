import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createS3Client } from '../../src/clients/aws.js'
import { eventually, openUpload } from '../helpers/upload-client.js'

const MiB = 1024 * 1024
const serverEntry = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

interface Server {
  child: ChildProcess
  url: string
  exit: Promise<number | null>
}

/** `npm start` as a process of its own (the local stack in child processes), on `dataDir`. */
async function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, [...process.execArgv, serverEntry], {
    env: { ...process.env, SAGEGATE_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', SAGEGATE_DRAIN_TIMEOUT_MS: '1500' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  const lines = createInterface({ input: child.stdout! })
  let url: string | undefined
  for await (const line of lines) {
    const m = /sagegate listening on (http:\/\/[^"\s]+)/.exec(line)
    if (m) {
      url = m[1]
      break
    }
  }
  child.stdout!.resume()
  if (url === undefined) throw new Error('the server did not start')
  return { child, url, exit }
}

const inFlight = (url: string, n: number) =>
  eventually(`${n} uploads in flight`, async () => new RegExp(`sagegate_uploads_in_flight ${n}\\b`).test(await (await fetch(`${url}/metrics`)).text()))

t.test('SIGTERM with uploads in flight: finished ones are jobs, late ones 503, exit 0, nothing left after a restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-sigterm-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  // 1. Three uploads that finish within the drain deadline.
  let server = await startServer(dataDir)
  t.teardown(() => void server.child.kill('SIGKILL'))
  let ups = [0, 1, 2].map(() => openUpload(`${server.url}/models/summarize/jobs`, { 'content-type': 'text/plain' }))
  for (const up of ups) await up.write(1 * MiB)
  await inFlight(server.url, 3)
  server.child.kill('SIGTERM')
  await eventually('readiness is off', async () => (await fetch(`${server.url}/readyz`)).status === 503)
  for (const up of ups) up.end()
  t.same((await Promise.all(ups.map((up) => up.answer))).map((a) => a.status), [202, 202, 202], 'finished within the deadline')
  t.equal(await server.exit, 0, 'exit 0')

  // 2. Three uploads still running at the deadline.
  server = await startServer(dataDir)
  ups = [0, 1, 2].map(() => openUpload(`${server.url}/models/summarize/jobs`, { 'content-type': 'text/plain' }))
  for (const up of ups) await up.write(6 * MiB)
  await inFlight(server.url, 3)
  server.child.kill('SIGTERM')
  const late = await Promise.all(ups.map((up) => up.answer))
  t.same(late.map((a) => a.status), [503, 503, 503], 'stopped at the deadline')
  t.same(late.map((a) => a.body.code), ['shutting_down', 'shutting_down', 'shutting_down'])
  t.equal(await server.exit, 0, 'exit 0')

  // 3. Restart on the same data: the three jobs of round 1 and nothing else.
  server = await startServer(dataDir)
  const local = JSON.parse(await readFile(join(dataDir, 'local.json'), 'utf8'))
  const s3 = createS3Client({ region: local.region, endpoint: local.s3.endpoint, credentials: local.credentials, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: local.s3.bucket }))
  t.equal(uploads.Uploads?.length ?? 0, 0, 'no multipart upload is left open')
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: local.s3.bucket, Prefix: 'sagegate/' }))
  const keys = (objects.Contents ?? []).map((o) => o.Key!)
  t.equal(keys.filter((k) => k.endsWith('/job.json')).length, 3, 'the finished uploads are jobs')
  t.equal(keys.filter((k) => k.endsWith('/input')).length, 3, 'and no input is left without its job')
  server.child.kill('SIGTERM')
  t.equal(await server.exit, 0)
})

t.test('a second signal exits at once', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-sigterm-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const server = await startServer(dataDir)
  t.teardown(() => void server.child.kill('SIGKILL'))
  const up = openUpload(`${server.url}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  await up.write(1 * MiB)
  await inFlight(server.url, 1)
  server.child.kill('SIGTERM')
  await eventually('draining', async () => (await fetch(`${server.url}/readyz`)).status === 503)
  server.child.kill('SIGTERM')
  t.equal(await server.exit, 1, 'exit 1, without waiting for the drain')
  up.destroy()
})
