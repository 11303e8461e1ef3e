import { PutObjectCommand } from '@aws-sdk/client-s3'
import { Agent, request } from 'node:http'
import t from 'tap'
import { BUCKET, dataFiles, startS3 } from './helpers.js'
import { openRaw, signRaw } from './raw-http.js'

t.test('Expect: 100-continue is answered 100 only for an acceptable request', async (t) => {
  const { server, client } = await startS3(t)
  const body = Buffer.alloc(3 * 1024 * 1024, 7)
  const attempt = async (path: string) => {
    const { req, response } = await openRaw(server.url, {
      method: 'PUT',
      path,
      headers: { 'content-length': String(body.length), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', expect: '100-continue' },
    })
    let continued = false
    req.on('continue', () => {
      continued = true
      req.end(body)
    })
    req.flushHeaders()
    const res = await response
    return { continued, status: res.status, body: res.body }
  }
  const refused = await attempt('/no-such-bucket/k')
  t.same([refused.continued, refused.status], [false, 404], 'refused before the body was sent')
  t.match(refused.body, /NoSuchBucket/)
  const accepted = await attempt(`/${BUCKET}/k`)
  t.same([accepted.continued, accepted.status], [true, 200])
  const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sdk', Body: body }))
  t.ok(put.ETag, 'the SDK (which sends Expect for bodies ≥ 2 MiB) succeeds')
})

t.test('HEAD errors have no body; error documents carry code, resource and request id', async (t) => {
  const { server } = await startS3(t)
  const head = await signRaw(server.url, { method: 'HEAD', path: `/${BUCKET}/missing`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })
  const res = await fetch(`${server.url}/${BUCKET}/missing`, { method: 'HEAD', headers: head.headers })
  t.equal(res.status, 404)
  t.equal(await res.text(), '')
  t.ok(res.headers.get('x-amz-request-id'))
  const get = await signRaw(server.url, { method: 'GET', path: `/${BUCKET}/missing%20key`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })
  const res2 = await fetch(`${server.url}/${BUCKET}/missing%20key`, { headers: get.headers })
  t.equal(res2.status, 404)
  t.equal(res2.headers.get('content-type'), 'application/xml')
  const xml = await res2.text()
  t.match(xml, /<Error><Code>NoSuchKey<\/Code><Message>[^<]+<\/Message><Key>missing key<\/Key><Resource>\/test-bucket\/missing key<\/Resource><RequestId>[0-9A-F]+<\/RequestId><\/Error>/)
})

t.test('keep-alive: an error answer to a request without a body keeps the connection (a HEAD or GET 404, an anonymous 403)', async (t) => {
  const { server } = await startS3(t)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const sockets = new Set<unknown>()
  const u = new URL(server.url)
  const ask = (method: string, path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, method, path, headers, agent }, (res) => {
        sockets.add(res.socket)
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }))
      })
      req.on('error', reject)
      req.end()
    })
  for (const method of ['HEAD', 'GET', 'HEAD']) {
    const signed = await signRaw(server.url, { method, path: `/${BUCKET}/missing`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })
    t.same(await ask(method, `/${BUCKET}/missing`, signed.headers), { status: 404, connection: 'keep-alive' }, `${method} of a missing key`)
  }
  t.same(await ask('HEAD', `/${BUCKET}/missing`, {}), { status: 403, connection: 'keep-alive' }, 'an unsigned HEAD')
  t.equal(sockets.size, 1, 'all on one connection')
})

t.test('keep-alive: many requests reuse one connection', async (t) => {
  const { server, dataDir } = await startS3(t)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const sockets = new Set<unknown>()
  for (let i = 0; i < 5; i++) {
    const signed = await signRaw(server.url, { method: 'PUT', path: `/${BUCKET}/ka${i}`, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': '2' } })
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(server.url)
      const req = request({ host: u.hostname, port: u.port, method: 'PUT', path: `/${BUCKET}/ka${i}`, headers: signed.headers, agent }, (res) => {
        sockets.add(res.socket)
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end('hi')
    })
    t.equal(status, 200)
  }
  t.equal(sockets.size, 1)
  t.equal((await dataFiles(dataDir)).length, 5)
})

