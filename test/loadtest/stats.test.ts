import t from 'tap'
import { compare, costPer1M, countByStatus, distribution, percentile, tps } from '../../src/loadtest/stats.js'

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1)

t.test('percentiles are nearest-rank values of the samples', async (t) => {
  t.equal(percentile(oneToHundred, 50), 50)
  t.equal(percentile(oneToHundred, 90), 90)
  t.equal(percentile(oneToHundred, 99), 99)
  t.equal(percentile(oneToHundred, 100), 100)
  t.equal(percentile([7], 99), 7)
  t.equal(percentile([1, 2, 3, 4], 50), 2, 'no interpolation: a value that was measured')
  t.equal(percentile([1, 2, 3, 4], 0), 1)
  t.equal(percentile([], 50), null)
})

t.test('a distribution sorts its samples without touching them', async (t) => {
  const samples = [30, 10, 20, 40]
  t.same(distribution(samples), { p50Ms: 20, p90Ms: 40, p99Ms: 40, maxMs: 40 })
  t.same(samples, [30, 10, 20, 40])
  t.same(distribution([]), { p50Ms: null, p90Ms: null, p99Ms: null, maxMs: null })
})

t.test('TPS is requests over seconds, 0 when no time passed', async (t) => {
  t.equal(tps(500, 10), 50)
  t.equal(tps(3, 0.5), 6)
  t.equal(tps(10, 0), 0)
})

t.test('cost per million inferences: price per hour / 3600 / TPS × 10⁶', async (t) => {
  t.ok(Math.abs(costPer1M(1.2, 50)! - 6.666666666666667) < 1e-9, 'price 1.2/h at 50 TPS')
  t.ok(Math.abs(costPer1M(3.6, 1)! - 1000) < 1e-9, '3.6/h is 0.001 a second')
  t.equal(costPer1M(1.2, 0), null, 'no throughput, no cost figure')
})

t.test('errors are counted by status, a network error as "0"', async (t) => {
  t.same(countByStatus([503, 0, 503, 422]), { '503': 2, '0': 1, '422': 1 })
  t.same(countByStatus([]), {})
})

t.test('gateway against direct: TPS ratio and added p50', async (t) => {
  t.same(compare({ tps: 80, p50Ms: 12 }, { tps: 100, p50Ms: 10 }), { tpsRatio: 0.8, addedP50Ms: 2 })
  t.same(compare({ tps: 80, p50Ms: null }, { tps: 0, p50Ms: 10 }), { tpsRatio: null, addedP50Ms: null })
})
