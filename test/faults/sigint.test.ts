import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { eventually, openUpload } from '../helpers/upload-client.js'
import { inFlight, startServer } from '../helpers/server-process.js'

const MiB = 1024 * 1024

t.test('SIGINT drains as SIGTERM does: real-time calls are still served while an upload finishes, then exit 0', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-sigint-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const server = await startServer(dataDir, 20_000)
  t.teardown(() => void server.child.kill('SIGKILL'))
  const up = openUpload(`${server.url}/models/summarize/jobs`, { 'content-type': 'text/plain' })
  await up.write(1 * MiB)
  await inFlight(server.url, 1)
  server.child.kill('SIGINT')
  await eventually('readiness is off', async () => (await fetch(`${server.url}/readyz`)).status === 503)
  const refused = await fetch(`${server.url}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'late' })
  t.equal(refused.status, 503, 'a new upload is refused')
  t.match(await refused.json(), { code: 'shutting_down' })
  const predict = await fetch(`${server.url}/models/echo/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'during the drain' })
  t.equal(predict.status, 200, 'a real-time call during the drain is served')
  t.equal(await predict.text(), 'during the drain')
  up.end()
  t.equal((await up.answer).status, 202, 'the upload in flight finishes')
  t.equal(await server.exit, 0, 'exit 0')
})
