import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

t.test('an unknown route is a problem document too', async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  const res = await app.inject('/nope')
  t.equal(res.statusCode, 404)
  t.match(res.json(), { code: 'route_not_found', status: 404, requestId: String })
  t.equal(res.headers['x-request-id'], res.json().requestId)
})

t.test('an unexpected failure is a 500 that does not leak its message', async (t) => {
  const { app, store } = await buildTestApp()
  t.teardown(() => app.close())
  store.readText = async () => {
    throw new Error('secret connection string s3://internal')
  }
  const res = await app.inject('/jobs/AAAAAAAAAAAAAAAAAAAAAA')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'internal_error')
  t.notMatch(res.body, /secret/)
})

t.test('a malformed multipart body is a 400', async (t) => {
  const { app, store } = await buildTestApp()
  t.teardown(() => app.close())
  const res = await app.inject({
    method: 'POST',
    url: '/models/text/jobs',
    headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
    payload: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nno closing boundary',
  })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(store.keys(), [])
})

t.test('too many form fields is a 400', async (t) => {
  const { app, store } = await buildTestApp()
  t.teardown(() => app.close())
  const fields = Array.from({ length: 12 }, (_, i) => `--XyZ\r\nContent-Disposition: form-data; name="customAttributes"\r\n\r\nv${i}\r\n`).join('')
  const res = await app.inject({
    method: 'POST',
    url: '/models/text/jobs',
    headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
    payload: `${fields}--XyZ--\r\n`,
  })
  t.equal(res.statusCode, 400)
  t.same(store.keys(), [])
})
