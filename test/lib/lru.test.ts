import t from 'tap'
import { Lru } from '../../src/lib/lru.js'

t.test('forgets the least recently used entry first', async (t) => {
  const lru = new Lru<string, number>(2)
  lru.set('a', 1)
  lru.set('b', 2)
  t.equal(lru.get('a'), 1)
  lru.set('c', 3)
  t.equal(lru.get('b'), undefined)
  t.equal(lru.get('a'), 1)
  t.equal(lru.get('c'), 3)
  t.equal(lru.size, 2)
})
