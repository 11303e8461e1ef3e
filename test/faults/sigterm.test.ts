import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createS3Client } from '../../src/clients/aws.js'
import { eventually, openUpload } from '../helpers/upload-client.js'
import { inFlight, startServer } from '../helpers/server-process.js'

const MiB = 1024 * 1024

t.test('SIGTERM with uploads in flight: finished ones are jobs, late ones 503, exit 0, nothing left after a restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-sigterm-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  // 1. Three uploads that finish within the drain deadline (ample here: 20 s).
  let server = await startServer(dataDir, 20_000)
  t.teardown(() => void server.child.kill('SIGKILL'))
  let ups = [0, 1, 2].map(() => openUpload(`${server.url}/models/summarize/jobs`, { 'content-type': 'text/plain' }))
  for (const up of ups) await up.write(1 * MiB)
  await inFlight(server.url, 3)
  server.child.kill('SIGTERM')
  await eventually('readiness is off', async () => (await fetch(`${server.url}/readyz`)).status === 503)
  for (const up of ups) up.end()
  t.same((await Promise.all(ups.map((up) => up.answer))).map((a) => a.status), [202, 202, 202], 'finished within the deadline')
  t.equal(await server.exit, 0, 'exit 0')

  // 2. Three uploads still running at the deadline (1.5 s).
  server = await startServer(dataDir, 1500)
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
