import t from 'tap'
import { createProgress } from '../../src/loadtest/progress.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('not a terminal: a line now and then, and the last count at the end', async (t) => {
  const written: string[] = []
  const progress = createProgress({ write: (s: string) => written.push(s) }, { lineIntervalMs: 20 })
  const counters = { done: 0, errors: 0 }
  progress.begin('gateway c=4', counters)
  counters.done = 10
  counters.errors = 1
  await sleep(70)
  progress.end()
  t.ok(written.length >= 2, `${written.length} lines`)
  t.ok(written.every((line) => line.endsWith('\n') && !line.includes('\r')))
  t.match(written.at(-1), /^gateway c=4: 10 done, [\d.]+\/s, 1 errors, \d+ s\n$/)
  const count = written.length
  await sleep(50)
  t.equal(written.length, count, 'nothing after end()')
})

t.test('a terminal: the line is rewritten in place, then cleared', async (t) => {
  const written: string[] = []
  const progress = createProgress({ write: (s: string) => written.push(s), isTTY: true }, { ttyIntervalMs: 20 })
  progress.begin('jobs c=2', { done: 3, errors: 0, ended: 1 })
  await sleep(50)
  progress.end()
  t.match(written[0], /^\r\x1b\[Kjobs c=2: 3 done, [\d.]+\/s, 0 errors, 1 ended, \d+ s$/)
  t.equal(written.at(-1), '\r\x1b[K')
})
