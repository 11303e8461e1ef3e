import t from 'tap'
import { runLoop } from '../../src/loadtest/loop.js'
import { asciiText, generatedBody } from '../../src/loadtest/body.js'

t.test('with a request count, exactly that many are sent, never more than `concurrency` at once', async (t) => {
  let inFlight = 0
  let most = 0
  const counters = { done: 0, errors: 0 }
  const result = await runLoop(
    4,
    async () => {
      most = Math.max(most, ++inFlight)
      await new Promise((r) => setTimeout(r, 2))
      inFlight--
      return { status: counters.done % 5 === 0 ? 503 : 200, latencyMs: 2 }
    },
    { requests: 25 },
    [200],
    counters,
  )
  t.equal(result.samples.length, 25)
  t.equal(most, 4)
  t.equal(counters.done, 25)
  t.equal(counters.errors, result.samples.filter((s) => s.status !== 200).length)
  t.ok(counters.errors > 0)
})

t.test('with a duration, no request starts after it and those under way are counted', async (t) => {
  const result = await runLoop(2, () => new Promise((r) => setTimeout(() => r({ status: 200, latencyMs: 20 }), 20)), { durationSeconds: 0.1 }, [200])
  t.ok(result.samples.length >= 6 && result.samples.length <= 14, `${result.samples.length} requests`)
  t.ok(result.seconds >= 0.1 && result.seconds < 0.2, `${result.seconds} s`)
})

t.test('generated bodies have the size asked for', async (t) => {
  t.equal(generatedBody(1000, 'application/octet-stream').length, 1000)
  t.equal(generatedBody(1000, 'text/plain').length, 1000)
  t.match(asciiText(200), /^[a-z .]+$/)
  const json = generatedBody(1000, 'application/json; charset=utf-8')
  t.equal(json.length, 1000)
  t.type((JSON.parse(json.toString()) as { inputs: unknown }).inputs, 'string')
})
