import { request } from 'node:http'
import t from 'tap'
import { startTestStack } from '../helpers/stack.js'

/**
 * Sends headers with `Expect: 100-continue` and the body only once the gateway says continue, as
 * curl does for large uploads. Resolves with whether 100 Continue came and the final status.
 */
function expectContinue(url: string, headers: Record<string, string>, body: Buffer): Promise<{ continued: boolean; status: number }> {
  return new Promise((resolve, reject) => {
    let continued = false
    const req = request(url, { method: 'POST', headers: { ...headers, expect: '100-continue', 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ continued, status: res.statusCode ?? 0 }))
    })
    req.on('continue', () => {
      continued = true
      req.end(body)
    })
    req.on('error', reject)
    req.flushHeaders()
  })
}

t.test('100 Continue only for uploads the gateway accepts', async (t) => {
  const it = await startTestStack(t, {
    models: {
      text: { mode: 'async', endpointName: 'summarize-async', contentTypes: ['text/plain'], maxBytes: 1024 },
      rt: { mode: 'realtime', endpointName: 'summarize-live', maxBytes: 1024 },
    },
    multiModelEndpoints: {},
  })
  const text = Buffer.from('The council approved the budget. It adds buses.')
  t.same(await expectContinue(`${it.baseUrl}/models/text/jobs`, { 'content-type': 'text/plain' }, text), { continued: true, status: 202 })
  t.same(await expectContinue(`${it.baseUrl}/models/text/jobs`, { 'content-type': 'text/plain' }, Buffer.alloc(2048)), { continued: false, status: 413 })
  t.same(await expectContinue(`${it.baseUrl}/models/text/jobs`, { 'content-type': 'image/png' }, text), { continued: false, status: 415 })
  t.same(await expectContinue(`${it.baseUrl}/models/nope/jobs`, { 'content-type': 'text/plain' }, text), { continued: false, status: 404 })
  t.same(await expectContinue(`${it.baseUrl}/models/rt/predict`, { 'content-type': 'text/plain' }, text), { continued: true, status: 200 })
  t.same(await expectContinue(`${it.baseUrl}/models/rt/predict`, { 'content-type': 'text/plain' }, Buffer.alloc(2048)), { continued: false, status: 413 })
})
