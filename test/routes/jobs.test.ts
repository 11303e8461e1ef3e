import t from 'tap'
import { buildTestApp, mp4Head } from '../helpers/app.js'

t.test('raw upload creates a job, stores input and record, invokes the endpoint', async (t) => {
  const { app, store, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/models/video/jobs', headers: { 'content-type': 'video/mp4', 'x-custom-attributes': 'fps=2' }, payload: mp4Head })
  t.equal(res.statusCode, 202, res.body)
  const job = res.json()
  t.equal(res.headers.location, `/jobs/${job.id}`)
  t.equal(job.status, 'in_progress')
  t.equal(job.input.sizeBytes, mp4Head.length)
  t.same(store.keys(), [`test-bucket/sagegate/jobs/${job.id}/input`, `test-bucket/sagegate/jobs/${job.id}/job.json`])
  t.same(store.objects.get(`test-bucket/sagegate/jobs/${job.id}/input`)?.body, mp4Head, 'the input is stored byte for byte')
  t.equal(runtime.calls.length, 1)
  t.match(runtime.calls[0], { endpointName: 'video-ep', inferenceId: job.id, contentType: 'video/mp4', customAttributes: 'fps=2', ttlSeconds: 21600, invocationTimeoutSeconds: 900 })
  t.equal(runtime.calls[0]!.inputLocation, `s3://test-bucket/sagegate/jobs/${job.id}/input`)
})

t.test('multipart upload with an option field', async (t) => {
  const { app, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  const boundary = 'XyZ'
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="customAttributes"\r\n\r\nfps=3\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n`),
    mp4Head,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  const res = await app.inject({ method: 'POST', url: '/models/video/jobs', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload })
  t.equal(res.statusCode, 202, res.body)
  t.equal(res.json().input.filename, 'clip.mp4')
  t.equal(runtime.calls[0]?.customAttributes, 'fps=3')
})

const rejections: Array<[string, Record<string, string>, Buffer | string, number, string]> = [
  ['unknown model', { 'content-type': 'video/mp4' }, mp4Head, 404, 'model_not_found'],
  ['content type not accepted', { 'content-type': 'image/png' }, mp4Head, 415, 'unsupported_media_type'],
  ['no content type', {}, mp4Head, 415, 'unsupported_media_type'],
  ['declared video that is not one', { 'content-type': 'video/mp4' }, Buffer.from('hello, definitely not a video'), 415, 'content_mismatch'],
  ['empty body', { 'content-type': 'video/mp4' }, Buffer.alloc(0), 400, 'empty_body'],
  ['bad custom attributes', { 'content-type': 'video/mp4', 'x-custom-attributes': 'a'.repeat(1025) }, mp4Head, 400, 'invalid_custom_attributes'],
]
for (const [name, headers, payload, status, code] of rejections) {
  t.test(`rejects: ${name}`, async (t) => {
    const { app, store, runtime } = await buildTestApp()
    t.teardown(() => app.close())
    const url = name === 'unknown model' ? '/models/nope/jobs' : '/models/video/jobs'
    const res = await app.inject({ method: 'POST', url, headers, payload })
    t.equal(res.statusCode, status, res.body)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal(res.json().code, code)
    t.ok(res.json().requestId)
    t.same(store.keys(), [], 'nothing stored')
    t.equal(runtime.calls.length, 0, 'nothing invoked')
  })
}

t.test('rejects a body over the limit while streaming, leaving nothing', async (t) => {
  const { app, store, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(1001) })
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'payload_too_large')
  t.same(store.keys(), [])
  t.equal(runtime.calls.length, 0)
})

t.test('a body shorter than the sniffed head is stored whole', async (t) => {
  const { app, store } = await buildTestApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'hi' })
  t.equal(res.statusCode, 202)
  t.equal(store.objects.get(`test-bucket/sagegate/jobs/${res.json().id}/input`)?.body.toString(), 'hi')
})

t.test('runtime failure: 503 with Retry-After for unavailability, input removed', async (t) => {
  const { app, store, runtime } = await buildTestApp()
  t.teardown(() => app.close())
  runtime.fail = Object.assign(new Error('down'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
  const { translateRuntimeError } = await import('../../src/clients/sagemaker-inference-runtime.js')
  runtime.fail = translateRuntimeError(runtime.fail)
  const res = await app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'hello world' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.same(store.keys(), [])
})
