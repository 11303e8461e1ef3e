import { request } from 'node:http'
import t, { type Test } from 'tap'
import { startTestStack, type TestStack } from '../helpers/stack.js'

const MiB = 1024 * 1024
const models = {
  text: { mode: 'async', endpointName: 'summarize-async', contentTypes: ['text/plain'], maxBytes: 12 * MiB },
  video: { mode: 'async', endpointName: 'video-frames-async', contentTypes: ['video/mp4'], maxBytes: 12 * MiB },
}

/** Nothing of any job is left: no objects under the gateway's prefix, no open multipart upload. */
async function leavesNothing(t: Test, it: TestStack) {
  t.same(await it.keys('sagegate/'), [], 'no objects')
  t.equal(await it.openUploads(), 0, 'no multipart uploads')
}

/** Sends `total` bytes in 1 MiB chunks over a real socket and resolves with the response. */
function send(url: string, headers: Record<string, string>, total: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }))
    })
    // The gateway may answer and close before the whole body is sent: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)))
    const chunk = Buffer.alloc(MiB, 'a')
    let sent = 0
    const pump = () => {
      while (sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

t.test('rejections over real sockets leave nothing behind', async (t) => {
  const it = await startTestStack(t, { models })
  const cases: Array<[string, string, Record<string, string>, number, number, string]> = [
    ['unknown model', '/models/nope/jobs', { 'content-type': 'text/plain' }, MiB, 404, 'model_not_found'],
    ['content type not accepted', '/models/text/jobs', { 'content-type': 'image/png' }, MiB, 415, 'unsupported_media_type'],
    ['a declared video that is not one', '/models/video/jobs', { 'content-type': 'video/mp4' }, MiB, 415, 'content_mismatch'],
    ['Content-Length over the limit', '/models/text/jobs', { 'content-type': 'text/plain', 'content-length': String(13 * MiB) }, 13 * MiB, 413, 'payload_too_large'],
    ['a chunked stream crossing the limit', '/models/text/jobs', { 'content-type': 'text/plain' }, 20 * MiB, 413, 'payload_too_large'],
  ]
  for (const [name, path, headers, total, status, code] of cases) {
    const res = await send(`${it.baseUrl}${path}`, headers, total)
    t.equal(res.status, status, name)
    t.equal(res.body.code, code, name)
    await leavesNothing(t, it)
  }
  const health = await fetch(`${it.baseUrl}/healthz`)
  t.equal(health.status, 200)
})

t.test('multipart: a second file is refused and nothing is kept', async (t) => {
  const it = await startTestStack(t, { models })
  const typed = new FormData()
  typed.append('file', new Blob(['first text'], { type: 'text/plain' }), 'a.txt')
  typed.append('file', new Blob(['second text'], { type: 'text/plain' }), 'b.txt')
  const res = await fetch(`${it.baseUrl}/models/text/jobs`, { method: 'POST', body: typed })
  t.equal(res.status, 400)
  t.equal(((await res.json()) as { code: string }).code, 'bad_request')
  await leavesNothing(t, it)
})

t.test('multipart: a file in another field, or an unknown field, is refused', async (t) => {
  const it = await startTestStack(t, { models })
  for (const [field, value] of [['upload', new Blob(['x'], { type: 'text/plain' })], ['colour', 'blue']] as const) {
    const form = new FormData()
    form.append(field, value)
    const res = await fetch(`${it.baseUrl}/models/text/jobs`, { method: 'POST', body: form })
    t.equal(res.status, 400, field)
  }
  await leavesNothing(t, it)
})

t.test('a client that disconnects mid-upload leaves no object, no parts and no job', async (t) => {
  const it = await startTestStack(t, { models: { text: { ...models.text, maxBytes: 512 * MiB } } })
  const req = request(`${it.baseUrl}/models/text/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': String(200 * MiB) } })
  req.on('error', () => undefined)
  const chunk = Buffer.alloc(MiB, 'b')
  // Send until the gateway has a multipart upload open in S3, then vanish.
  const deadline = Date.now() + 30_000
  while ((await it.openUploads()) === 0 && Date.now() < deadline) {
    for (let i = 0; i < 4; i++) req.write(chunk)
    await new Promise((r) => setTimeout(r, 20))
  }
  t.equal(await it.openUploads(), 1, 'an upload was in progress')
  req.destroy()
  const settle = Date.now() + 30_000
  while (((await it.openUploads()) > 0 || (await it.keys('sagegate/')).length > 0) && Date.now() < settle) await new Promise((r) => setTimeout(r, 50))
  await leavesNothing(t, it)
  t.same((await (await fetch(`${it.baseUrl}/readyz`)).json()) as object, { status: 'ready', checks: { storage: 'ok', runtime: 'ok' } })
})
