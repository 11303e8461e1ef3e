import t from 'tap'
import { describeError } from '../../src/lib/describe-error.js'

t.test('one line with the name, the code and the cause', async (t) => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
  t.equal(describeError(new TypeError('fetch failed', { cause })), 'TypeError: fetch failed; cause: Error (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1')
  t.equal(describeError('plain'), 'plain')
})
