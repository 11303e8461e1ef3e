import t from 'tap'
import { deadline, DeadlineExceeded, isDeadlineExceeded } from '../../src/lib/deadline.js'

t.test('fires after its time with a DeadlineExceeded reason', async (t) => {
  const d = deadline(20)
  // Its timer does not keep the process alive (unref): wait with one that does.
  await new Promise((r) => setTimeout(r, 60))
  t.ok(isDeadlineExceeded(d.signal.reason))
  t.equal((d.signal.reason as DeadlineExceeded).ms, 20)
})

t.test('the parent firing first passes its own reason on', async (t) => {
  const parent = new AbortController()
  const d = deadline(60_000, parent.signal)
  const reason = new Error('client gone')
  parent.abort(reason)
  t.equal(d.signal.reason, reason)
  t.notOk(isDeadlineExceeded(d.signal.reason))
})

t.test('clear() stops the clock, the parent still propagates', async (t) => {
  const parent = new AbortController()
  const d = deadline(10, parent.signal)
  d.clear()
  await new Promise((r) => setTimeout(r, 40))
  t.equal(d.signal.aborted, false)
  parent.abort(new Error('gone'))
  t.equal(d.signal.aborted, true)
})

t.test('an already aborted parent aborts at once', async (t) => {
  const parent = new AbortController()
  parent.abort(new Error('early'))
  t.equal(deadline(1000, parent.signal).signal.aborted, true)
})
