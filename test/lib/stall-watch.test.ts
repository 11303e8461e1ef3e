import t from 'tap'
import { createStallWatch } from '../../src/lib/stall-watch.js'

/** A watch driven by a fake clock: ticks are run by hand through the interval the watch sets. */
function setup() {
  let now = 0
  const watch = createStallWatch(() => now)
  t.teardown(() => watch.close())
  return { watch, advance: (ms: number) => (now += ms) }
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
}

t.test('no progress while waiting on the peer for the timeout → onStall, once', async (t) => {
  const { watch, advance } = setup()
  let stalls = 0
  watch.watch({ progress: () => 0, waiting: () => true, timeoutMs: 100, onStall: () => stalls++ })
  advance(150)
  await until(() => stalls > 0)
  t.equal(stalls, 1)
  t.equal(watch.size, 0, 'a stalled entry is dropped')
})

t.test('progress keeps it alive', async (t) => {
  const { watch, advance } = setup()
  let bytes = 0
  let stalls = 0
  const stop = watch.watch({ progress: () => bytes, waiting: () => true, timeoutMs: 100, onStall: () => stalls++ })
  for (let i = 0; i < 10; i++) {
    advance(60)
    bytes++
    await new Promise((r) => setTimeout(r, 30))
  }
  t.equal(stalls, 0)
  stop()
  t.equal(watch.size, 0)
})

t.test('time the gateway holds the peer back does not count', async (t) => {
  const { watch, advance } = setup()
  let waiting = false
  let stalls = 0
  watch.watch({ progress: () => 0, waiting: () => waiting, timeoutMs: 100, onStall: () => stalls++ })
  advance(1000)
  await new Promise((r) => setTimeout(r, 60))
  t.equal(stalls, 0, 'backpressure from our side is not a stall')
  waiting = true
  await new Promise((r) => setTimeout(r, 60))
  t.equal(stalls, 0, 'the clock starts when waiting starts')
  advance(150)
  await until(() => stalls > 0)
  t.equal(stalls, 1)
})
