import t from 'tap'
import { ifNoneMatchMatches } from '../../src/lib/etag.js'

t.test('weak comparison of entity tags (RFC 9110 §8.8.3.2)', async (t) => {
  t.equal(ifNoneMatchMatches('"abc"', '"abc"'), true)
  t.equal(ifNoneMatchMatches('W/"abc"', '"abc"'), true, 'a weak tag in the request matches')
  t.equal(ifNoneMatchMatches('"abc"', 'W/"abc"'), true, 'a weak stored tag matches')
  t.equal(ifNoneMatchMatches('"abd"', '"abc"'), false)
  t.equal(ifNoneMatchMatches('"ABC"', '"abc"'), false, 'opaque tags are case-sensitive')
  t.equal(ifNoneMatchMatches('abc', '"abc"'), false, 'an unquoted tag is not an entity tag')
})

t.test('lists and the wildcard (RFC 9110 §13.1.2)', async (t) => {
  t.equal(ifNoneMatchMatches('"x", "y", W/"abc"', '"abc"'), true)
  t.equal(ifNoneMatchMatches('"x","abc"', '"abc"'), true)
  t.equal(ifNoneMatchMatches('"x", "y"', '"abc"'), false)
  t.equal(ifNoneMatchMatches('"a,b"', '"a,b"'), true, 'a comma inside a tag is part of it')
  t.equal(ifNoneMatchMatches('"a", "b"', '"a,b"'), false, 'not split at the comma')
  t.equal(ifNoneMatchMatches('*', '"abc"'), true)
  t.equal(ifNoneMatchMatches(' * ', undefined), true, '* needs no stored tag')
})

t.test('no stored tag, or an empty header: no match', async (t) => {
  t.equal(ifNoneMatchMatches('"abc"', undefined), false)
  t.equal(ifNoneMatchMatches('', '"abc"'), false)
  t.equal(ifNoneMatchMatches('"abc"', 'abc'), false, 'a stored value that is not an entity tag never matches')
})
