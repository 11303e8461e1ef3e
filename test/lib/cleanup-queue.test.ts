import pino from 'pino'
import t from 'tap'
import { createCleanupQueue } from '../../src/lib/cleanup-queue.js'

const logger = pino({ level: 'silent' })

t.test('a cleanup that works now is done now', async (t) => {
  const q = createCleanupQueue({ logger, attemptTimeoutMs: 1000 })
  t.teardown(() => q.close())
  let runs = 0
  t.equal(await q.run({ what: {}, run: async () => void runs++ }), true)
  t.equal(runs, 1)
  t.equal(q.pending, 0)
})

t.test('a failing cleanup is retried in the background until it works', async (t) => {
  const pendingSeen: number[] = []
  const q = createCleanupQueue({ logger, attemptTimeoutMs: 1000, onPending: (n) => pendingSeen.push(n) })
  t.teardown(() => q.close())
  let fail = true
  let runs = 0
  const task = {
    what: { key: 'k' },
    run: async () => {
      runs++
      if (fail) throw new Error('S3 down')
    },
  }
  t.equal(await q.run(task), false)
  t.equal(q.pending, 1)
  fail = false
  t.equal(await q.flush(1000), 0, 'flush retries at once')
  t.equal(runs, 2)
  t.same(pendingSeen, [1, 0])
})

t.test('an attempt that hangs is cut by its deadline', async (t) => {
  const q = createCleanupQueue({ logger, attemptTimeoutMs: 30 })
  t.teardown(() => q.close())
  const hang = (signal: AbortSignal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
  // The attempt's timer does not keep the process alive (unref): hold it open meanwhile.
  const keepAlive = setInterval(() => undefined, 1000)
  t.teardown(() => clearInterval(keepAlive))
  t.equal(await q.run({ what: {}, run: hang }), false)
  t.equal(q.pending, 1)
  t.equal(await q.flush(10), 1, 'flush gives up waiting after its own time')
})

t.test('deferred tasks wait for a retry; close drops what is left', async (t) => {
  const q = createCleanupQueue({ logger, attemptTimeoutMs: 1000 })
  let runs = 0
  q.defer({ what: {}, run: async () => void runs++ })
  t.equal(runs, 0)
  t.equal(q.pending, 1)
  t.equal(await q.flush(1000), 0)
  t.equal(runs, 1)
  q.defer({ what: {}, run: async () => void runs++ })
  q.close()
  t.equal(q.pending, 0)
})
