import t from 'tap'
import { createPeriodic } from '../../src/lib/periodic.js'

t.test('runs at once, then again after each run ends, never two at a time; stop ends it', async (t) => {
  let runs = 0
  let active = 0
  let overlapped = false
  let release: () => void = () => undefined
  const p = createPeriodic(
    async () => {
      runs++
      active++
      if (active > 1) overlapped = true
      if (runs === 1) await new Promise<void>((r) => (release = r))
      active--
    },
    1,
    () => undefined,
  )
  p.start()
  p.start()
  await new Promise((r) => setTimeout(r, 50))
  t.equal(runs, 1, 'the first run is still under way: no second one')
  t.ok(p.running())
  release()
  while (runs < 3) await new Promise((r) => setTimeout(r, 5))
  p.stop()
  await p.running()
  const after = runs
  await new Promise((r) => setTimeout(r, 50))
  t.equal(runs, after, 'no run after stop')
  t.notOk(overlapped)
})

t.test('a failing run is reported and the next one still comes', async (t) => {
  let runs = 0
  const errors: unknown[] = []
  const p = createPeriodic(
    async () => {
      runs++
      if (runs === 1) throw new Error('boom')
    },
    1,
    (err) => errors.push(err),
  )
  p.start()
  while (runs < 2) await new Promise((r) => setTimeout(r, 5))
  p.stop()
  t.equal(errors.length, 1)
})
