import { join } from 'node:path'
import t from 'tap'
import { resolveDirectTarget } from '../../src/loadtest/direct.js'
import { main } from '../../src/loadtest/main.js'
import { runLoadTest } from '../../src/loadtest/runner.js'
import { writeLocalJson } from '../../src/local/stack.js'
import { startTestStack } from '../helpers/stack.js'

const NUMBERS = ['requests', 'seconds', 'tps', 'p50Ms', 'p90Ms', 'p99Ms', 'errors'] as const

t.test('a short run against the real local stack', async (t) => {
  const it = await startTestStack(t)
  const octets = { bytes: Buffer.alloc(1024, 7), contentType: 'application/octet-stream' }

  t.test('predict on echo at concurrency 1 and 2, as JSON', async (t) => {
    let stdout = ''
    const stderr: string[] = []
    const code = await main(['--url', it.baseUrl, '--model', 'echo', '--concurrency', '1,2', '--duration', '2', '--warmup', '0.5', '--price-per-hour', '1.2', '--json'], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => stderr.push(s) },
      env: {},
    })
    t.equal(code, 0, stderr.join(''))
    const report = JSON.parse(stdout) as { mode: string; model: string; url: string; levels: Record<string, unknown>[] }
    t.match(report, { mode: 'predict', model: 'echo', url: it.baseUrl })
    t.same(report.levels.map((l) => l.concurrency), [1, 2])
    for (const level of report.levels) {
      for (const name of NUMBERS) t.type(level[name], 'number', name)
      t.ok((level.requests as number) > 0, `${level.requests} requests`)
      t.equal(level.errors, 0, JSON.stringify(level.errorsByStatus))
      t.same(level.errorsByStatus, {})
      t.type(level.costPer1M, 'number')
    }
  })

  t.test('jobs on summarize: 10 jobs accepted and followed to their end', async (t) => {
    const body = { bytes: Buffer.from('A short text to summarize. It has two sentences, the second one longer than the first.'), contentType: 'text/plain' }
    const report = await runLoadTest({ url: it.baseUrl, model: 'summarize', mode: 'jobs', concurrency: [2], requests: 10, warmupSeconds: 0, body })
    const [level] = report.levels
    t.match(level, { concurrency: 2, requests: 10, errors: 0, completed: 10, failed: 0, lost: 0, unfinished: 0 })
    t.ok(level!.completionP50Ms! > 0 && level!.drainSeconds! > 0)
    t.ok(level!.drainSeconds! * 1000 >= level!.completionMaxMs!, 'the drain spans every completion')
  })

  t.test('--direct: the same predict load through the SDK, and the ratios', async (t) => {
    const localJson = await writeLocalJson(it.dataDir, it.stack)
    const direct = await resolveDirectTarget({ url: it.baseUrl, model: 'echo', headers: {}, localJson: join(it.dataDir, 'local.json') })
    t.match(direct, { endpointName: 'mme-realtime', targetModel: 'echo.tar.gz', region: it.stack.region, endpointUrl: it.stack.sagemaker.endpoint })
    t.equal(localJson, join(it.dataDir, 'local.json'))
    const report = await runLoadTest({ url: it.baseUrl, model: 'echo', mode: 'predict', concurrency: [2], durationSeconds: 1.5, warmupSeconds: 0.5, body: octets, direct })
    const [level] = report.levels
    t.equal(level!.errors, 0)
    t.ok(level!.direct!.requests > 0, `${level!.direct!.requests} direct requests`)
    t.equal(level!.direct!.errors, 0, JSON.stringify(level!.direct!.errorsByStatus))
    t.type(level!.comparison!.tpsRatio, 'number')
    t.type(level!.comparison!.addedP50Ms, 'number')
  })
})
