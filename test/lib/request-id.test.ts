import t from 'tap'
import { acceptedRequestId, requestIdFor } from '../../src/lib/request-id.js'

t.test("the client's id is kept when it is a plain token of 1-128 characters", async (t) => {
  for (const id of ['a', 'abc-123', 'trace.id:span_7', 'A'.repeat(128), '0f8fad5b-d9cb-469f-a165-70867728950e']) t.equal(acceptedRequestId(id), id, id)
})

t.test('anything else is refused', async (t) => {
  for (const id of ['', 'A'.repeat(129), 'a b', 'a, b', 'café', '<script>', 'a\r\nb', 'a\tb', 'a/b', '"a"']) t.equal(acceptedRequestId(id), undefined, JSON.stringify(id))
  t.equal(acceptedRequestId(undefined), undefined)
  t.equal(acceptedRequestId(['a', 'b']), undefined, 'several values')
})

t.test('a refused id is replaced by a fresh one', async (t) => {
  t.equal(requestIdFor('good-id', () => 'fresh'), 'good-id')
  t.equal(requestIdFor('bad id', () => 'fresh'), 'fresh')
  t.equal(requestIdFor(undefined, () => 'fresh'), 'fresh')
  t.match(requestIdFor('x'.repeat(500)), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUID by default')
})
