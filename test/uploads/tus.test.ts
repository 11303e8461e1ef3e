import { createHash } from 'node:crypto'
import { request, type IncomingHttpHeaders } from 'node:http'
import t from 'tap'
import * as tus from 'tus-js-client'
import { KEYS, withKeys } from '../helpers/auth.js'
import { generateText } from '../helpers/generate-text.js'
import { startTestStack, waitForJob } from '../helpers/stack.js'
import { eventually } from '../helpers/upload-client.js'

/** tus-js-client in Node, against the gateway on the real local stack. */
function upload(endpoint: string, body: Buffer, metadata: Record<string, string>, options: Partial<tus.UploadOptions> = {}) {
  let jobLocation: string | undefined
  let u: tus.Upload | undefined
  const done = new Promise<void>((resolve, reject) => {
    u = new tus.Upload(body, {
      endpoint,
      metadata,
      chunkSize: 5 * 1024 * 1024,
      retryDelays: [],
      onAfterResponse: (_req, res) => {
        jobLocation = res.getHeader('Job-Location') ?? jobLocation
      },
      onSuccess: () => resolve(),
      onError: reject,
      ...options,
    })
    u.start()
  })
  return { done, jobLocation: () => jobLocation, url: () => u?.url ?? undefined, upload: () => u! }
}

t.test('a text uploaded with tus-js-client becomes a job that completes; nothing of the upload is left open', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const text = Buffer.from(generateText(8 * 1024 * 1024, { seed: 3 }))
  const up = upload(`${it.baseUrl}/uploads`, text, { model: 'summarize', filetype: 'text/plain', filename: 'article.txt' }, { headers: { authorization: `Bearer ${KEYS.acmeWeb}` } })
  await up.done
  const location = up.jobLocation()
  t.match(location, /^\/jobs\/[A-Za-z0-9_-]{22}$/, 'the final PATCH carries Job-Location')
  t.equal(up.url()?.split('/').pop(), location!.split('/').pop(), 'the upload id is the job id')
  const job = await waitForJob(it.baseUrl, location!.split('/').pop()!, 60_000, { authorization: `Bearer ${KEYS.acmeWeb}` })
  t.equal(job.status, 'completed')
  t.match(job.input, { contentType: 'text/plain', sizeBytes: text.length, filename: 'article.txt' })
  const stored = await it.s3.send(new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: it.bucket, Key: `${it.config.storage.prefix}jobs/${job.id}/input` }))
  t.equal(createHash('sha256').update(await stored.Body!.transformToByteArray()).digest('hex'), createHash('sha256').update(text).digest('hex'), 'the input is the bytes sent')
  t.equal(await it.openUploads(), 0, 'no multipart upload left open')

  const head = await fetch(up.url()!, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${KEYS.acmeWeb}` } })
  t.equal(head.headers.get('job-location'), location, 'a HEAD afterwards carries Job-Location too')
  const other = await fetch(up.url()!, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${KEYS.globex}` } })
  t.equal(other.status, 404, "another tenant's upload is a 404")

  const discovery = await fetch(`${it.baseUrl}/uploads`, { method: 'OPTIONS' })
  t.equal(discovery.status, 204, 'capability discovery, without a key')
  for (const ext of ['creation', 'creation-with-upload', 'termination', 'expiration']) t.match(discovery.headers.get('tus-extension'), new RegExp(`\\b${ext}\\b`))
})

const auth = { authorization: `Bearer ${KEYS.acmeWeb}` }
const meta = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',')

t.test('a dropped connection midway: the upload resumes from the offset the server has, and the job sees every byte once', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const text = Buffer.from(generateText(9 * 1024 * 1024, { seed: 11 }))
  let chunks = 0
  const first = upload(`${it.baseUrl}/uploads`, text, { model: 'summarize', filetype: 'text/plain' }, {
    headers: auth,
    chunkSize: 2 * 1024 * 1024,
    onChunkComplete: () => {
      // The network goes away after the second chunk.
      if (++chunks === 2) void first.upload().abort()
    },
  })
  await new Promise((r) => setTimeout(r, 50))
  while (chunks < 2) await new Promise((r) => setTimeout(r, 20))
  await new Promise((r) => setTimeout(r, 200))
  const url = first.url()!
  const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', ...auth } })
  t.equal(head.status, 200)
  const offset = Number(head.headers.get('upload-offset'))
  t.ok(offset >= 4 * 1024 * 1024 && offset < text.length, `the server kept ${offset} bytes`)
  t.equal(head.headers.get('job-location'), null, 'no job before the last byte')

  const resumed = upload(`${it.baseUrl}/uploads`, text, { model: 'summarize', filetype: 'text/plain' }, { headers: auth, uploadUrl: url })
  await resumed.done
  const id = url.split('/').pop()!
  t.equal(resumed.jobLocation(), `/jobs/${id}`)
  const job = await waitForJob(it.baseUrl, id, 60_000, auth)
  t.equal(job.status, 'completed')
  t.equal(job.input.sizeBytes, text.length)
  const { GetObjectCommand } = await import('@aws-sdk/client-s3')
  const stored = await it.s3.send(new GetObjectCommand({ Bucket: it.bucket, Key: `${it.config.storage.prefix}jobs/${id}/input` }))
  t.ok(Buffer.from(await stored.Body!.transformToByteArray()).equals(text), 'the stored input is exactly the bytes sent')
  t.equal(await it.openUploads(), 0)
})

t.test('creation is refused before any byte, as problem documents: model, key, length, type, protocol', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ['no model', { 'upload-length': '10', 'upload-metadata': meta({ filetype: 'text/plain' }) }, 400, 'bad_request'],
    ['unknown model', { 'upload-length': '10', 'upload-metadata': meta({ model: 'nope', filetype: 'text/plain' }) }, 404, 'model_not_found'],
    ['real-time model', { 'upload-length': '10', 'upload-metadata': meta({ model: 'sentiment', filetype: 'text/plain' }) }, 409, 'wrong_model_mode'],
    ['too large', { 'upload-length': String(11 * 1024 * 1024), 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) }, 413, 'payload_too_large'],
    ['type not accepted', { 'upload-length': '10', 'upload-metadata': meta({ model: 'summarize', filetype: 'image/png' }) }, 415, 'unsupported_media_type'],
    ['no length', { 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) }, 400, 'bad_request'],
    ['deferred length', { 'upload-defer-length': '1', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) }, 400, 'bad_request'],
    ['unknown metadata', { 'upload-length': '10', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain', bucket: 'x' }) }, 400, 'bad_request'],
    ['bad custom attributes', { 'upload-length': '10', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain', customAttributes: 'é' }) }, 400, 'invalid_custom_attributes'],
    ['no key', { authorization: '', 'upload-length': '10', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) }, 401, 'unauthorized'],
    ['model outside the key', { authorization: `Bearer ${KEYS.acmeBatch}`, 'upload-length': '10', 'upload-metadata': meta({ model: 'video-frames', filetype: 'video/mp4' }) }, 403, 'model_not_allowed'],
    ['no Tus-Resumable', { 'tus-resumable': '', 'upload-length': '10', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) }, 412, 'tus_resumable_required'],
  ]
  for (const [what, headers, status, code] of cases) {
    const clean = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''))
    const res = await fetch(`${it.baseUrl}/uploads`, {
      method: 'POST',
      headers: { ...(headers['tus-resumable'] === '' ? {} : { 'tus-resumable': '1.0.0' }), ...(headers.authorization === '' ? {} : auth), ...clean },
    })
    t.equal(res.status, status, what)
    t.match(res.headers.get('content-type'), /^application\/problem\+json/, `${what}: a problem document`)
    t.match(await res.json(), { code }, what)
  }
  const named = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', ...auth, 'upload-length': '5', 'upload-metadata': meta({ model: 'summarize', filename: 'notes.txt' }) },
  })
  t.equal(named.status, 201, "no filetype: the file name's extension decides")
  t.same(await it.keys(`${it.config.storage.prefix}jobs/`), (await it.keys(`${it.config.storage.prefix}jobs/`)).filter((k) => k.endsWith('.info')), 'only the created upload’s info object exists')
})

t.test('a video whose first bytes are not a video is refused at the first PATCH and removed', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const created = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', ...auth, 'upload-length': '100000', 'upload-metadata': meta({ model: 'video-frames', filetype: 'video/mp4' }) },
  })
  t.equal(created.status, 201)
  const url = created.headers.get('location')!
  const patch = await fetch(url, {
    method: 'PATCH',
    headers: { 'tus-resumable': '1.0.0', ...auth, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: Buffer.alloc(100000, 'not a video '),
  })
  t.equal(patch.status, 415)
  t.match(await patch.json(), { code: 'content_mismatch' })
  t.same(await it.keys(`${it.config.storage.prefix}jobs/`), [], 'nothing left')
  t.equal(await it.openUploads(), 0)
})

t.test('creation-with-upload: a video whose first bytes are not a video is refused 415 and nothing is stored', async (t) => {
  const it = await startTestStack(t, { configure: withKeys() })
  const res = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      ...auth,
      'upload-length': '100000',
      'upload-metadata': meta({ model: 'video-frames', filetype: 'video/mp4' }),
      'content-type': 'application/offset+octet-stream',
    },
    body: Buffer.alloc(100000, 'not a video '),
  })
  t.equal(res.status, 415)
  t.match(res.headers.get('content-type'), /^application\/problem\+json/)
  t.match(await res.json(), { code: 'content_mismatch', declared: 'video/mp4' })
  t.equal(res.headers.get('location'), null, 'no upload URL')
  t.same(await it.keys(`${it.config.storage.prefix}jobs/`), [], 'no object: neither input, .info nor .part')
  t.equal(await it.openUploads(), 0, 'no multipart upload')
})

/** A PATCH over a real socket whose body the test sends by hand (to hold it open), and its answer. */
function openPatch(url: string, headers: Record<string, string>) {
  const req = request(url, { method: 'PATCH', headers })
  const answer = new Promise<{ status: number; headers: IncomingHttpHeaders; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  // The answer may come before the whole body is sent (a refusal): then writing fails, which is fine.
  const write = (bytes: Buffer) => new Promise<void>((resolve) => (req.write(bytes) ? resolve() : req.once('drain', resolve)))
  return { req, write, end: (bytes?: Buffer) => void req.end(bytes), answer }
}

t.test("past a key's concurrent uploads, a PATCH is refused 429 too_many_uploads while another PATCH runs; then it goes through", async (t) => {
  const it = await startTestStack(t, { configure: withKeys({ acmeWeb: { maxConcurrentUploads: 1 } }) })
  const MiB = 1024 * 1024
  const tusHeaders = { 'tus-resumable': '1.0.0', ...auth }
  const create = async (length: number) => {
    const created = await fetch(`${it.baseUrl}/uploads`, {
      method: 'POST',
      headers: { ...tusHeaders, 'upload-length': String(length), 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) },
    })
    t.equal(created.status, 201, 'a creation without a body is not an upload in progress')
    return created.headers.get('location')!
  }
  const offsetOf = async (url: string) => Number((await fetch(url, { method: 'HEAD', headers: tusHeaders })).headers.get('upload-offset'))
  const inFlight = async () => Number(/^sagegate_uploads_in_flight (\d+)$/m.exec(await (await fetch(`${it.baseUrl}/metrics`)).text())?.[1])
  // Neither upload is finished by its PATCH, so no job starts behind the test's back.
  const a = await create(3 * MiB)
  const b = await create(64 * 1024)
  const text = Buffer.from(generateText(2 * MiB, { seed: 7 }))
  const patchHeaders = (length: number) => ({ ...tusHeaders, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(length) })

  // The first PATCH sends half its body and holds the socket open.
  const first = openPatch(a, patchHeaders(text.length))
  await first.write(text.subarray(0, MiB))
  await eventually('the first PATCH is being received', async () => (await inFlight()) === 1)

  const bBody = Buffer.from(generateText(32 * 1024, { seed: 8 }))
  const refused = openPatch(b, patchHeaders(bBody.length))
  refused.end(bBody)
  const answer = await refused.answer
  t.equal(answer.status, 429)
  t.match(answer.headers['content-type'], /^application\/problem\+json/)
  t.match(answer.body, { code: 'too_many_uploads', maxConcurrentUploads: 1 })
  t.ok(Number(answer.headers['retry-after']) > 0, 'Retry-After in seconds')
  t.equal(await offsetOf(b), 0, 'the refused PATCH stored nothing')
  t.equal(await inFlight(), 1, 'the first PATCH still runs')

  first.end(text.subarray(MiB))
  const done = await first.answer
  t.equal(done.status, 204, 'the first PATCH completes')
  t.equal(done.headers['upload-offset'], String(text.length))
  await eventually('the first PATCH has given back its place', async () => (await inFlight()) === 0)

  const again = openPatch(b, patchHeaders(bBody.length))
  again.end(bBody)
  const retried = await again.answer
  t.equal(retried.status, 204, 'the second upload proceeds once the first PATCH ended')
  t.equal(retried.headers['upload-offset'], String(bBody.length))
  t.equal(await offsetOf(a), text.length)
  t.equal(await offsetOf(b), bBody.length)

  for (const url of [a, b]) t.equal((await fetch(url, { method: 'DELETE', headers: tusHeaders })).status, 204)
  t.same(await it.keys(`${it.config.storage.prefix}jobs/`), [])
  t.equal(await it.openUploads(), 0)
})

t.test('termination removes everything; an abandoned upload expires and leaves nothing', async (t) => {
  const it = await startTestStack(t, {
    configure: (c) => withKeys()({ ...c, upload: { ...c.upload, resumableExpiryMs: 1000 } }),
  })
  const start = async () => {
    const created = await fetch(`${it.baseUrl}/uploads`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', ...auth, 'upload-length': String(9 * 1024 * 1024), 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) },
    })
    const url = created.headers.get('location')!
    const patch = await fetch(url, {
      method: 'PATCH',
      headers: { 'tus-resumable': '1.0.0', ...auth, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: Buffer.from(generateText(6 * 1024 * 1024, { seed: 5 })),
    })
    t.equal(patch.status, 204)
    return url
  }
  const terminated = await start()
  t.ok(await it.openUploads() > 0, 'a multipart upload is open while the upload is unfinished')
  const del = await fetch(terminated, { method: 'DELETE', headers: { 'tus-resumable': '1.0.0', ...auth } })
  t.equal(del.status, 204)
  t.same(await it.keys(`${it.config.storage.prefix}jobs/`), [], 'termination leaves no object')
  t.equal(await it.openUploads(), 0, 'and no multipart upload')
  t.equal((await fetch(terminated, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', ...auth } })).status, 404)

  const abandoned = await start()
  t.ok((await it.keys(`${it.config.storage.prefix}jobs/`)).length > 0, 'the unfinished upload is stored')
  // The gateway sweeps every min(15 min, expiry): here every second.
  const deadline = Date.now() + 15_000
  while ((await it.keys(`${it.config.storage.prefix}jobs/`)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
  t.same(await it.keys(`${it.config.storage.prefix}jobs/`), [], 'expiry leaves no object')
  t.equal(await it.openUploads(), 0, 'and no multipart upload')
  const gone = await fetch(abandoned, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', ...auth } })
  t.ok(gone.status === 404 || gone.status === 410, `an expired upload is gone (${gone.status})`)
})

t.test("expiry removes only the gateway's own unfinished resumable uploads", async (t) => {
  const it = await startTestStack(t, { configure: (c) => withKeys()({ ...c, upload: { ...c.upload, resumableExpiryMs: 24 * 3600 * 1000 } }) })
  const { CreateMultipartUploadCommand, PutObjectCommand } = await import('@aws-sdk/client-s3')
  // Another application's multipart upload in the same bucket, and a direct upload of the gateway's in progress.
  await it.s3.send(new CreateMultipartUploadCommand({ Bucket: it.bucket, Key: 'other-app/video.mp4' }))
  await it.s3.send(new CreateMultipartUploadCommand({ Bucket: it.bucket, Key: `${it.config.storage.prefix}jobs/AAAAAAAAAAAAAAAAAAAAAA/input` }))
  await it.s3.send(new PutObjectCommand({ Bucket: it.bucket, Key: 'other-app/notes.txt', Body: 'x' }))
  const created = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', ...auth, 'upload-length': '100', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) },
  })
  t.equal(created.status, 201)
  t.equal(await it.app.removeExpiredUploads(), 0, 'nothing is older than a day')
  t.equal(await it.openUploads(), 3)
  // A day later, only the tus upload is removed.
  t.equal(await it.app.removeExpiredUploads(Date.now() + 25 * 3600 * 1000), 1)
  t.equal(await it.openUploads(), 2, "the other application's and the direct upload's multipart uploads are untouched")
  t.same(await it.keys('other-app/'), ['other-app/notes.txt'])
})

t.test('browsers: the preflight allows the tus headers and methods, answers expose the offset, location and job', async (t) => {
  const APP = 'https://app.example.com'
  const it = await startTestStack(t, { configure: withKeys({}, { cors: { origins: [APP], maxAgeSeconds: 600 } }) })
  const pre = await fetch(`${it.baseUrl}/uploads/AAAAAAAAAAAAAAAAAAAAAA`, {
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization,tus-resumable,upload-offset,content-type' },
  })
  t.equal(pre.status, 204)
  t.equal(pre.headers.get('access-control-allow-origin'), APP)
  t.match(pre.headers.get('access-control-allow-methods'), /PATCH/)
  t.match(pre.headers.get('access-control-allow-methods'), /DELETE/)
  for (const h of ['tus-resumable', 'upload-offset', 'upload-length', 'upload-metadata']) t.match(pre.headers.get('access-control-allow-headers'), new RegExp(h))

  const created = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: { origin: APP, 'tus-resumable': '1.0.0', ...auth, 'upload-length': '11', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) },
  })
  t.equal(created.status, 201)
  t.equal(created.headers.get('access-control-allow-origin'), APP)
  const exposed = created.headers.get('access-control-expose-headers') ?? ''
  for (const h of ['location', 'upload-offset', 'job-location', 'x-request-id', 'tus-resumable']) t.match(exposed, new RegExp(`\\b${h}\\b`), `${h} is readable by the page`)
  const other = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: { origin: 'https://evil.example', 'tus-resumable': '1.0.0', ...auth, 'upload-length': '11', 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) },
  })
  t.equal(other.headers.get('access-control-allow-origin'), null, 'another origin gets no CORS grant (tus would have said *)')
})
