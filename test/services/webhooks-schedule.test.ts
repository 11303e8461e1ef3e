import t from 'tap'
import { nextAttemptAt, nextCheckIntervalMs, RETRY_DELAYS_MS, retryDelayMs } from '../../src/services/webhook-schedule.js'

const H = 3_600_000

t.test("Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h, with ±10% jitter", async (t) => {
  const mid = () => 0.5
  t.same([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(n, RETRY_DELAYS_MS, mid)), [5_000, 300_000, 1_800_000, 2 * H, 5 * H, 10 * H, 10 * H, 10 * H])
  t.equal(retryDelayMs(1, RETRY_DELAYS_MS, () => 0), 4_500)
  t.equal(retryDelayMs(1, RETRY_DELAYS_MS, () => 0.999_999), 5_500)
  for (let i = 0; i < 100; i++) {
    const d = retryDelayMs(1)
    if (d < 4_500 || d > 5_500) t.fail(`first retry after ${d} ms`)
  }
})

t.test('retries stop retryForMs after the first attempt, the last one at the end of the window', async (t) => {
  const o = { firstAttemptAt: 0, retryForMs: 24 * H, random: () => 0.5 }
  t.equal(nextAttemptAt({ ...o, now: 0, failedAttempts: 1 }), 5_000)
  t.equal(nextAttemptAt({ ...o, now: 20 * H, failedAttempts: 7 }), 24 * H, 'clamped to the end of the window')
  t.equal(nextAttemptAt({ ...o, now: 24 * H, failedAttempts: 8 }), undefined)
  t.equal(nextAttemptAt({ ...o, now: 30 * H, failedAttempts: 8 }), undefined)
})

t.test('the default 24 h window: attempts at about 0, 5 s, 5 min, 35 min, 2.6 h, 7.6 h, 17.6 h and 24 h', async (t) => {
  const at: number[] = [0]
  for (let n = 1; ; n++) {
    const next = nextAttemptAt({ now: at[at.length - 1]!, firstAttemptAt: 0, failedAttempts: n, retryForMs: 24 * H, random: () => 0.5 })
    if (next === undefined) break
    at.push(next)
  }
  t.equal(at.length, 8)
  t.equal(at[at.length - 1], 24 * H)
})

t.test('a running job is looked at after a doubling interval, capped', async (t) => {
  t.equal(nextCheckIntervalMs(500, 5_000), 1_000)
  t.equal(nextCheckIntervalMs(4_000, 5_000), 5_000)
  t.equal(nextCheckIntervalMs(5_000, 5_000), 5_000)
})
