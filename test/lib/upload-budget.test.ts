import t from 'tap'
import { createUploadBudget } from '../../src/lib/upload-budget.js'

const MiB = 1024 * 1024

t.test('room is handed out in order: a released reservation goes to the first waiter', async (t) => {
  const budget = createUploadBudget({ maxBufferedBytes: 20 * MiB, partSizeBytes: 8 * MiB })
  t.ok(budget.tryAcquire(8 * MiB))
  await budget.acquire(8 * MiB)
  t.notOk(budget.tryAcquire(8 * MiB), 'no room for another part')
  t.ok(budget.tryAcquire(1024), 'a small body still fits')
  const order: string[] = []
  const first = budget.acquire(8 * MiB).then(() => order.push('first'))
  const second = budget.acquire(1024).then(() => order.push('second'))
  t.equal(budget.waiting, 2)
  t.notOk(budget.tryAcquire(1024), 'a later caller does not overtake the waiters')
  budget.release(8 * MiB)
  await Promise.all([first, second])
  t.same(order, ['first', 'second'])
  t.equal(budget.heldBytes, 16 * MiB + 2048)
})

t.test('a wait ends with its signal; a budget under one part still holds one part', async (t) => {
  const budget = createUploadBudget({ maxBufferedBytes: 5 * MiB, partSizeBytes: 8 * MiB })
  t.equal(budget.maxBytes, 8 * MiB)
  await budget.acquire(8 * MiB)
  const gone = new AbortController()
  const waiting = budget.acquire(8 * MiB, gone.signal)
  gone.abort(new Error('client gone'))
  await t.rejects(waiting, { message: 'client gone' })
  t.equal(budget.waiting, 0)
  budget.release(8 * MiB)
  t.equal(budget.heldBytes, 0)
})
