import { ListBucketsCommand } from '@aws-sdk/client-s3'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { superviseComponent } from '../../src/local/supervisor.js'
import { capturingLogger, eventually } from './crash-helpers.js'
import { BUCKET, CREDENTIALS, makeClient, REGION } from './s3/helpers.js'

/** Listens on `port` as soon as the dead child has released it (bounded). */
async function occupy(port: number): Promise<Server> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const server = createServer()
    const result = await new Promise<Error | undefined>((resolve) => {
      server.once('error', resolve)
      server.listen(port, '127.0.0.1', () => resolve(undefined))
    })
    if (result === undefined) return server
    if (Date.now() > deadline) throw result
    await new Promise((r) => setTimeout(r, 5))
  }
}

t.test('a crashed child is restarted on its port with a doubling backoff; a port still in use is retried', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-supervisor-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const { logger, lines } = capturingLogger('warn')
  const s3 = await superviseComponent(
    { role: 's3', options: { host: '127.0.0.1', port: 0, dataDir, region: REGION, credentials: CREDENTIALS, buckets: [BUCKET] } },
    { logLevel: process.env.TEST_LOG_LEVEL ?? 'silent', logger, policy: { initialDelayMs: 50, maxDelayMs: 400, stableAfterMs: 60_000 } },
  )
  t.teardown(() => s3.close())
  const client = makeClient(s3.info.url!)
  t.teardown(() => client.destroy())
  const port = Number(new URL(s3.info.url!).port)
  const restarted = () => lines.filter((l) => l.msg === 'local stack process restarted')

  const first = s3.pid()!
  process.kill(first, 'SIGKILL')
  await eventually('first restart', () => restarted().length === 1)
  t.not(s3.pid(), first)
  t.ok((await client.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === BUCKET), 'same URL, same data')

  const second = s3.pid()!
  process.kill(second, 'SIGKILL')
  const blocker = await occupy(port)
  await eventually('a failed restart', () => lines.some((l) => l.msg === 'local stack process failed to restart'))
  t.equal(s3.pid(), undefined, 'no pid while it is down')
  await new Promise<void>((resolve) => blocker.close(() => resolve()))
  await eventually('second restart', () => restarted().length === 2)
  t.ok((await client.send(new ListBucketsCommand({}))).Buckets?.some((b) => b.Name === BUCKET))

  const died = lines.filter((l) => l.msg === 'local stack process died')
  t.match(died, [{ level: 50, role: 's3', pid: first, signal: 'SIGKILL' }, { level: 50, role: 's3', pid: second, signal: 'SIGKILL' }])
  const waits = lines.filter((l) => l.msg === 'restarting local stack process').map((l) => l.afterMs as number)
  t.same(waits.slice(0, 3), [50, 100, 200], 'the wait doubles while it keeps failing')
  t.ok(waits.every((ms) => ms <= 400), 'up to the cap')
  t.ok(lines.filter((l) => l.msg === 'restarting local stack process').every((l) => l.level === 40 && typeof l.pid === 'number'))
})
