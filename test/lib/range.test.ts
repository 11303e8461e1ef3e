import t from 'tap'
import { parseRange } from '../../src/lib/range.js'

t.test('single byte ranges (RFC 9110 §14.1.2)', async (t) => {
  t.same(parseRange(undefined, 10), { kind: 'none' })
  t.same(parseRange('bytes=0-0', 10), { kind: 'range', start: 0, end: 0 })
  t.same(parseRange('bytes=2-', 10), { kind: 'range', start: 2, end: 9 })
  t.same(parseRange('bytes=5-100', 10), { kind: 'range', start: 5, end: 9 }, 'end clamped to the last byte')
  t.same(parseRange('bytes=-3', 10), { kind: 'range', start: 7, end: 9 })
  t.same(parseRange('bytes=-30', 10), { kind: 'range', start: 0, end: 9 })
})

t.test('unsatisfiable and ignored forms', async (t) => {
  t.same(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=5-2', 10), { kind: 'none' }, 'invalid: ignored')
  t.same(parseRange('bytes=0-1,3-4', 10), { kind: 'none' }, 'several ranges: ignored')
  t.same(parseRange('items=0-1', 10), { kind: 'none' })
  t.same(parseRange('bytes=-', 10), { kind: 'none' })
})
