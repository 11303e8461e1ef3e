import t from 'tap'
import { attachmentFilename, isInlineSafe, protectiveHeaders } from '../../src/lib/safe-content.js'

t.test('types a browser only displays are inline', async (t) => {
  for (const type of [
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/problem+json',
    'application/vnd.sagemaker-triton.binary+json;json-header-size=12',
    'text/plain',
    'text/plain; charset=utf-8',
    'image/png',
    'image/jpeg',
    'image/webp',
    'audio/mpeg',
    'video/mp4',
  ]) {
    t.equal(isInlineSafe(type), true, type)
  }
})

t.test('types a browser can run, and anything unknown, are attachments', async (t) => {
  for (const type of [
    'text/html',
    'text/html; charset=utf-8',
    'application/xhtml+xml',
    'image/svg+xml',
    'IMAGE/SVG+XML',
    'text/xml',
    'application/xml',
    'application/javascript',
    'text/javascript',
    'application/pdf',
    'application/octet-stream',
    'text/csv',
    'multipart/x-mixed-replace; boundary=x',
    'application/x-unknown',
    'html',
    '',
    'text/plain, text/html',
    undefined,
  ]) {
    t.equal(isInlineSafe(type), false, String(type))
  }
})

t.test('attachment names: the job id and an extension for known types', async (t) => {
  t.equal(attachmentFilename('AbC_12-xyz', 'text/html; charset=utf-8'), 'AbC_12-xyz.html')
  t.equal(attachmentFilename('id', 'image/svg+xml'), 'id.svg')
  t.equal(attachmentFilename('id', 'application/octet-stream'), 'id.bin')
  t.equal(attachmentFilename('id', 'application/x-unknown'), 'id')
  t.equal(attachmentFilename('id', undefined), 'id')
  t.equal(attachmentFilename('a"b; filename=evil.html', 'text/html'), 'result.html', 'a name that is not a plain token is replaced')
  t.equal(attachmentFilename('', 'text/html'), 'result.html')
})

t.test('every answer is nosniff, sandboxed and never stored; only active types are attachments', async (t) => {
  const common = { 'x-content-type-options': 'nosniff', 'cache-control': 'private, no-store', 'content-security-policy': 'sandbox' }
  t.same(protectiveHeaders('application/json', 'job1'), common)
  t.same(protectiveHeaders('text/html', 'job1'), { ...common, 'content-disposition': 'attachment; filename="job1.html"' })
  t.same(protectiveHeaders(undefined, 'job1'), { ...common, 'content-disposition': 'attachment; filename="job1"' })
})
