import t from 'tap'
import { evaluateConditions, needsHead, resultConditions, resultHeaders } from '../../src/services/job-result.js'

const info = { sizeBytes: 10, contentType: 'text/html', etag: '"e1"', lastModified: new Date(0) }

t.test('If-None-Match before Range (RFC 9110 §13.2.2)', async (t) => {
  t.same(evaluateConditions(info, {}), { status: 200 })
  t.same(evaluateConditions(info, { ifNoneMatch: '"e1"' }), { status: 304 })
  t.same(evaluateConditions(info, { ifNoneMatch: '"e1"', range: 'bytes=2-4' }), { status: 304 }, 'a current copy wins over the range')
  t.same(evaluateConditions(info, { ifNoneMatch: '"e1"', range: 'bytes=20-' }), { status: 304 }, 'even over an unsatisfiable one')
  t.same(evaluateConditions(info, { ifNoneMatch: '"old"', range: 'bytes=2-4' }), { status: 206, range: { start: 2, end: 4, totalBytes: 10 } })
  t.throws(() => evaluateConditions(info, { range: 'bytes=20-' }), { statusCode: 416, code: 'range_not_satisfiable' })
})

t.test('only a conditional or ranged request needs a HEAD first', async (t) => {
  t.equal(needsHead({}), false)
  t.equal(needsHead(resultConditions({})), false)
  t.equal(needsHead(resultConditions({ range: 'bytes=0-1' })), true)
  t.equal(needsHead(resultConditions({ 'if-none-match': '*' })), true)
})

t.test('headers of 200, 206 and 304', async (t) => {
  const protective = {
    'x-content-type-options': 'nosniff',
    'cache-control': 'private, no-store',
    'content-security-policy': 'sandbox',
    'content-disposition': 'attachment; filename="job1.html"',
  }
  const validators = { etag: '"e1"', 'last-modified': 'Thu, 01 Jan 1970 00:00:00 GMT' }
  t.same(resultHeaders('job1', info, { status: 200 }), {
    ...protective,
    ...validators,
    'content-type': 'text/html',
    'accept-ranges': 'bytes',
    'content-length': '10',
  })
  t.same(resultHeaders('job1', info, { status: 206, range: { start: 2, end: 4, totalBytes: 10 } }), {
    ...protective,
    ...validators,
    'content-type': 'text/html',
    'accept-ranges': 'bytes',
    'content-length': '3',
    'content-range': 'bytes 2-4/10',
  })
  t.same(resultHeaders('job1', info, { status: 304 }), { ...protective, ...validators }, 'no length or type on a 304')
  t.notOk('content-disposition' in resultHeaders('job1', { ...info, contentType: 'application/json' }, { status: 200 }), 'JSON is inline')
})
