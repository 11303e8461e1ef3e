import t from 'tap'
import { errors } from '../../src/errors.js'
import { createLifecycle } from '../../src/services/lifecycle.js'

t.test('uploads are capped; a released place can be taken again', async (t) => {
  const refused: string[] = []
  const lc = createLifecycle({ maxConcurrentUploads: 2, onRefused: (r) => refused.push(r) })
  const a = lc.acquireUpload()
  lc.acquireUpload()
  t.throws(() => lc.acquireUpload(), { code: 'too_many_uploads', statusCode: 503 })
  a.release()
  a.release()
  t.equal(lc.activeUploads, 1, 'releasing twice frees one place')
  t.ok(lc.acquireUpload())
  t.same(refused, ['capacity'])
})

t.test('a drain refuses new uploads, aborts running ones on demand, and tells when none is left', async (t) => {
  const lc = createLifecycle({ maxConcurrentUploads: 10 })
  const lease = lc.acquireUpload()
  lc.startDrain()
  t.equal(lc.draining, true)
  t.throws(() => lc.acquireUpload(), { code: 'shutting_down' })
  let idle = false
  const waiting = lc.uploadsIdle().then(() => (idle = true))
  const reason = errors.shuttingDown()
  lc.abortUploads(reason)
  t.equal(lease.signal.reason, reason)
  t.equal(idle, false)
  lease.release()
  await waiting
  t.equal(idle, true)
})
