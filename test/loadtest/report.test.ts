import t from 'tap'
import { formatReport, measure, table, type Report } from '../../src/loadtest/report.js'

const samples = [
  ...Array.from({ length: 98 }, (_, i) => ({ status: 200, latencyMs: i + 1 })),
  { status: 503, latencyMs: 1 },
  { status: 0, latencyMs: 5000 },
]

t.test('a loop measured: TPS and latency of successes, errors by status, cost', async (t) => {
  const m = measure({ samples, seconds: 2 }, [200], 1.2)
  t.match(m, { requests: 100, seconds: 2, tps: 49, p50Ms: 49, p90Ms: 89, p99Ms: 98, maxMs: 98, errors: 2, errorsByStatus: { '503': 1, '0': 1 } })
  t.ok(Math.abs(m.costPer1M! - 1.2 / 3600 / 49 * 1e6) < 1e-9)
  t.notOk('costPer1M' in measure({ samples, seconds: 2 }, [200]), 'no price, no cost')
})

t.test('tables pad their columns', async (t) => {
  t.equal(table([['', 'TPS'], ['gateway', '1.5'], ['direct', '12.0']]), ['          TPS', 'gateway   1.5', 'direct   12.0'].join('\n'))
})

t.test('the predict table shows both rows and the ratio with --direct', async (t) => {
  const gateway = measure({ samples, seconds: 2 }, [200], 1.2)
  const direct = { ...gateway, tps: 98, p50Ms: 40 }
  const report: Report = { mode: 'predict', model: 'echo', url: 'http://gw', levels: [{ concurrency: 4, ...gateway, direct, comparison: { tpsRatio: 0.5, addedP50Ms: 9 } }] }
  const text = formatReport(report, 1.2)
  t.match(text, /concurrency 4/)
  t.match(text, /^gateway +100 +49\.0 +49\.0 +89\.0 +98\.0 +2 \(network: 1, 503: 1\) +6\.803$/m)
  t.match(text, /^direct /m)
  t.match(text, /gateway\/direct TPS 0\.50x, added p50 9\.00 ms/)
})

t.test('the jobs table shows accept, completion and the drain', async (t) => {
  const accepts = measure({ samples: [{ status: 202, latencyMs: 8 }], seconds: 1 }, [202])
  const report: Report = {
    mode: 'jobs',
    model: 'summarize',
    url: 'http://gw',
    levels: [{ concurrency: 1, ...accepts, completionP50Ms: 900, completionP90Ms: 900, completionP99Ms: 900, completionMaxMs: 900, drainSeconds: 0.9, completedPerSecond: 1.1, completed: 1, failed: 0, expired: 0, canceled: 0, lost: 0, unfinished: 0 }],
  }
  const text = formatReport(report)
  t.match(text, /^accept +1 +1\.0 +8\.00/m)
  t.match(text, /^completion +1 +1\.1 +900\.0/m)
  t.match(text, /queue drain 0\.90 s; completed 1, failed 0/)
})
