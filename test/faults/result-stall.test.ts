import { request, type IncomingMessage } from 'node:http'
import t from 'tap'
import { completedJobWithOutput, leavesNothing, MiB, startFaultStack } from './helpers.js'

t.test('S3 stalls in the middle of a result: the response ends early instead of hanging', async (t) => {
  const it = await startFaultStack(t)
  const size = 32 * MiB
  const id = await completedJobWithOutput(it, size)
  const before = await it.keys('sagegate/')
  const res = await new Promise<IncomingMessage>((resolve) => request(`${it.baseUrl}/jobs/${id}/result`, resolve).end())
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-length'], String(size))
  let received = 0
  let stalled = false
  const outcome = await new Promise<string>((resolve) => {
    res.on('data', (c: Buffer) => {
      received += c.length
      if (!stalled && received >= 1 * MiB) {
        stalled = true
        it.s3Proxy.stall()
      }
    })
    res.once('end', () => resolve('end'))
    res.once('error', (err) => resolve(`error: ${err.message}`))
    res.once('close', () => resolve('close'))
  })
  t.not(outcome, 'end', `the response did not claim to be complete (${outcome})`)
  t.ok(received < size, `${received} of ${size} bytes arrived, then the gateway gave up on S3`)
  it.s3Proxy.pass()
  await leavesNothing(t, it, before, '(a read changes nothing)')
})
