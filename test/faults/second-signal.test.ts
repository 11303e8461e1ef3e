import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { eventually, openUpload } from '../helpers/upload-client.js'
import { inFlight, startServer } from '../helpers/server-process.js'

const MiB = 1024 * 1024

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
