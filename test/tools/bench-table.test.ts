// The README's performance table is made from the bench's JSON: what each row says, and the rewrite
// between the markers.
import t from 'tap'
import { benchTable, TABLE_END, TABLE_START, withTable, type BenchResults } from '../bench/table.js'

const results: BenchResults = {
  rounds: 3,
  node: 'v20.20.2',
  cpus: 2,
  uploads: [{ sizeMiB: 1024, directMiBps: 100, gatewayMiBps: 87, gatewayToDirect: 0.87, gatewayPeakRssMiB: 209 }],
  realtime: {
    rows: [
      { body: '1 KiB', directP50Ms: 2.1, gatewayP50Ms: 2.9, addedP50Ms: 0.8, directRps16: 900, gatewayRps16: 850, rpsRatio16: 0.944 },
      { body: '1 MiB', directP50Ms: 9, gatewayP50Ms: 13, addedP50Ms: 4, directRps16: 100, gatewayRps16: 70, rpsRatio16: 0.7 },
    ],
  },
  burst: {
    rounds: 3,
    polls: { concurrency: 64, seconds: 5, inProgressPerSecond: 3000, completedPerSecond: 9000, barePerSecond: 10000, completedToBare: 0.9, notOk: 0 },
    burst: {
      jobs: 1000,
      concurrency: 64,
      tps: 150,
      p50Ms: 400,
      p99Ms: 700,
      directTps: 180,
      directP50Ms: 350,
      directP99Ms: 600,
      ratio: 0.83,
      cpuMsPerJob: { gateway: 5, 'local s3': 3 },
      cpuCeilingPerSecond: 250,
      refused: {},
    },
    uploads: { count: 64, sizeMiB: 16, seconds: 10, statuses: { 202: 64 }, peakRssMiB: 358, peakExternalMiB: 200, peakHeapMiB: 40 },
  },
}

t.test('each scenario is a row with its reference, ratio and whether its target is met', async (t) => {
  const table = benchTable(results)
  t.match(table, /^Medians of 3 rounds, Node v20\.20\.2, 2 cores/)
  t.match(table, /\| `upload` 1 GiB: .* \| 87\.0 MiB\/s, peak RSS 209 MiB \| 100\.0 MiB\/s \| 0\.87× \|/)
  t.match(table, /echo 1 KiB, concurrency 1: .* \| 2\.90 ms \| 2\.10 ms \| \+0\.80 ms \| ≤ \+1\.0 ms ✓ \|/)
  t.match(table, /echo 1 MiB, concurrency 1: .* \| \+4\.00 ms \| ≤ \+2\.5 ms ✗ \|/)
  t.match(table, /echo 1 KiB, concurrency 16: requests\/s \| 850\/s \| 900\/s \| 0\.94× \| ≥ 0\.8× ✓ \|/)
  t.match(table, /echo 1 MiB, concurrency 16: requests\/s \| .* \| 0\.70× \| ≥ 0\.8× ✗ \|/)
  t.match(table, /\| 150 accepted\/s, p50 400 ms, p99 700 ms \| 180\/s, p50 350 ms, p99 600 ms \| 0\.83× \| ≥ 200\/s ✗, p99 ≤ 400 ms ✗ \|/)
  t.match(table, /CPU per accepted job, by process \(ms\) \| gateway 5\.0, local s3 3\.0 \|  \| ceiling 250\/s \|/)
  t.match(table, /jobs in progress \| 3,000\/s \|  \|  \| ≥ 1,500\/s ✓ \|/)
  t.match(table, /completed jobs, vs a bare Fastify route sending the same text \| 9,000\/s \| 10,000\/s \| 0\.90× \| ≥ 10,000\/s ✗ \|/)
  t.match(table, /64 of 64 accepted, gateway peak RSS 375 MB \|  \|  \| all accepted ✓, ≤ 400 MB ✓ \|/)
})

t.test('scenarios that did not run have no row', async (t) => {
  const table = benchTable({ rounds: 1, node: 'v22.0.0' })
  t.equal(table.split('\n').length, 4, 'the caption, a blank line, the header and its rule')
})

t.test('the table replaces what is between the markers, and only that', async (t) => {
  const readme = `# x\n\nbefore\n${TABLE_START}\nold table\n${TABLE_END}\nafter\n`
  t.equal(withTable(readme, 'NEW'), `# x\n\nbefore\n${TABLE_START}\nNEW\n${TABLE_END}\nafter\n`)
  t.throws(() => withTable('# no markers\n', 'NEW'), /no .* markers/)
})
