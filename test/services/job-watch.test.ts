import pino from 'pino'
import t from 'tap'
import type { JobStatus, JobView } from '../../src/services/job-record.js'
import { createJobWatch } from '../../src/services/job-watch.js'

const job = (id: string, status: JobStatus): JobView => ({
  id,
  model: 'm',
  status,
  createdAt: '2026-01-01T00:00:00.000Z',
  deadlineAt: '2026-01-02T00:00:00.000Z',
  input: { contentType: 'text/plain', sizeBytes: 1 },
  links: { self: `/jobs/${id}`, result: `/jobs/${id}/result` },
})

/** A fake S3 view of jobs: `states` decides what a check sees; `checks` counts them per job. */
function fakeJobs() {
  const states = new Map<string, JobStatus | undefined>()
  const checks = new Map<string, number>()
  return {
    states,
    checks,
    check: async (id: string) => {
      checks.set(id, (checks.get(id) ?? 0) + 1)
      const s = states.get(id)
      return s === undefined ? undefined : job(id, s)
    },
  }
}

const logger = pino({ level: 'silent' })

t.test('one watcher per job, however many wait on it', async (t) => {
  const fake = fakeJobs()
  fake.states.set('a', 'in_progress')
  const watch = createJobWatch({ check: fake.check, minPollIntervalMs: 10, maxPollIntervalMs: 20, logger })
  const waits = Array.from({ length: 100 }, () => watch.wait(job('a', 'in_progress'), 10_000))
  t.equal(watch.watched(), 1)
  t.equal(watch.listeners(), 100)
  await new Promise((r) => setTimeout(r, 100))
  const checksWhileRunning = fake.checks.get('a') ?? 0
  t.ok(checksWhileRunning >= 1 && checksWhileRunning <= 10, `${checksWhileRunning} checks for 100 waiters in 100 ms`)
  fake.states.set('a', 'completed')
  const views = await Promise.all(waits)
  t.ok(views.every((v) => v?.status === 'completed'))
  t.equal(watch.watched(), 0, 'the watcher is gone with its job')
  t.equal(watch.listeners(), 0)
})

t.test('the interval doubles up to the maximum; a wake checks at once and resets it', async (t) => {
  const fake = fakeJobs()
  fake.states.set('b', 'in_progress')
  const watch = createJobWatch({ check: fake.check, minPollIntervalMs: 1000, maxPollIntervalMs: 60_000, logger })
  const wait = watch.wait(job('b', 'in_progress'), 30_000)
  fake.states.set('b', 'failed')
  const ended: JobView[] = []
  const woke = createJobWatch({ check: fake.check, minPollIntervalMs: 1000, maxPollIntervalMs: 60_000, logger, onEnded: (v) => ended.push(v) })
  // `watch` learns of the end only through wake (its first check is a second away).
  t.equal((await watch.wake('b'))?.status, 'failed')
  t.equal((await wait)?.status, 'failed')
  // A wake with nobody waiting still checks, so that webhooks hear of the end.
  t.equal((await woke.wake('b'))?.status, 'failed')
  t.same(ended.map((v) => v.status), ['failed'])
})

t.test('a wait ends at its timeout, at the abort of its client or at close, with the last known state', async (t) => {
  const fake = fakeJobs()
  fake.states.set('c', 'in_progress')
  const watch = createJobWatch({ check: fake.check, minPollIntervalMs: 5, maxPollIntervalMs: 10, logger })
  t.equal((await watch.wait(job('c', 'in_progress'), 30))?.status, 'in_progress')
  const gone = new AbortController()
  const left = watch.wait(job('c', 'in_progress'), 10_000, gone.signal)
  gone.abort()
  t.equal((await left)?.status, 'in_progress')
  t.equal(watch.watched(), 0, 'nobody listens: the watcher stops')
  const drained = watch.wait(job('c', 'in_progress'), 10_000)
  watch.close()
  t.equal((await drained)?.status, 'in_progress')
  t.equal((await watch.wait(job('c', 'in_progress'), 10_000))?.status, 'in_progress', 'after close, waits answer at once')
})

t.test('a job that disappears ends its waits with undefined; a failing check keeps them', async (t) => {
  let fail = true
  const fake = fakeJobs()
  fake.states.set('d', 'in_progress')
  const watch = createJobWatch({
    check: async (id) => {
      if (fail) throw new Error('S3 down')
      return fake.check(id)
    },
    minPollIntervalMs: 5,
    maxPollIntervalMs: 10,
    logger,
  })
  const wait = watch.wait(job('d', 'in_progress'), 10_000)
  await new Promise((r) => setTimeout(r, 50))
  t.equal(watch.listeners(), 1, 'still waiting through S3 errors')
  fail = false
  fake.states.delete('d')
  t.equal(await wait, undefined)
})

t.test('settle hands a state set on this replica (a cancel) to the waiters', async (t) => {
  const fake = fakeJobs()
  fake.states.set('e', 'in_progress')
  const watch = createJobWatch({ check: fake.check, minPollIntervalMs: 1000, maxPollIntervalMs: 1000, logger })
  const wait = watch.wait(job('e', 'in_progress'), 10_000)
  watch.settle('e', job('e', 'canceled'))
  t.equal((await wait)?.status, 'canceled')
})
