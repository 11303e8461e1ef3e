import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { inFlight, startServer } from '../helpers/server-process.js'
import { eventually, openUpload } from '../helpers/upload-client.js'

const MiB = 1024 * 1024

t.test('SIGTERM to the whole process group (systemd, kill -- -pgid): the local stack outlives the drain', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-group-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const server = await startServer(dataDir, 20_000, true)
  t.teardown(() => {
    try {
      process.kill(-server.child.pid!, 'SIGKILL')
    } catch {
      // already gone
    }
  })
  const up = openUpload(`${server.url}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  await up.write(1 * MiB)
  await inFlight(server.url, 1)
  process.kill(-server.child.pid!, 'SIGTERM')
  await eventually('draining', async () => (await fetch(`${server.url}/readyz`)).status === 503)
  up.end()
  const answer = await up.answer
  t.equal(answer.status, 202, 'the upload finished: S3 and the runtime were still there')
  t.equal(await server.exit, 0)
})
