// Resumable uploads under faults: the job cannot start when the last byte lands (SageMaker down),
// and S3 stalls in the middle of a PATCH. Real sockets, the fault proxy between gateway and AWS.
import t from 'tap'
import { generateText } from '../helpers/generate-text.js'
import { eventually } from '../helpers/upload-client.js'
import { MiB, startFaultStack } from './helpers.js'

const tusHeaders = { 'tus-resumable': '1.0.0' }
const meta = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',')

async function create(baseUrl: string, size: number): Promise<string> {
  const res = await fetch(`${baseUrl}/uploads`, {
    method: 'POST',
    headers: { ...tusHeaders, 'upload-length': String(size), 'upload-metadata': meta({ model: 'summarize', filetype: 'text/plain' }) },
  })
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`)
  return res.headers.get('location')!
}

/** GET /jobs/{id} until the job ends; with the tests' short deadlines a busy machine may answer 503/504 now and then: retried. */
async function waitForJob(baseUrl: string, id: string, timeoutMs = 60_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await fetch(`${baseUrl}/jobs/${id}`)
    const job = (await res.json()) as Record<string, any>
    if (res.status === 200 && job.status !== 'in_progress') return job
    if (res.status !== 200 && res.status < 500) return job
    if (Date.now() > deadline) throw new Error(`job ${id} still in progress after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** HEAD until the answer is not a 503/504 (as a client honouring Retry-After would). */
async function head(url: string): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, { method: 'HEAD', headers: tusHeaders })
    if ((res.status !== 503 && res.status !== 504) || attempt === 10) return res
    await new Promise((r) => setTimeout(r, 200))
  }
}

const patch = (url: string, offset: number, body: Buffer) =>
  fetch(url, { method: 'PATCH', headers: { ...tusHeaders, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, body })

t.test('SageMaker down when the last byte lands: 503 with Retry-After, the bytes are kept, a HEAD later starts the job', async (t) => {
  const it = await startFaultStack(t)
  const text = Buffer.from(generateText(256 * 1024, { seed: 2 }))
  const url = await create(it.baseUrl, text.length)
  it.runtimeProxy.refuse(true)
  const last = await patch(url, 0, text)
  t.equal(last.status, 503)
  t.ok(last.headers.get('retry-after'), 'Retry-After')
  t.match(await last.json(), { code: 'upstream_unavailable' })
  const id = url.split('/').pop()!
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}`)).status, 404, 'no job yet')

  it.runtimeProxy.refuse(false)
  const after = await head(url)
  t.equal(after.status, 200)
  t.equal(after.headers.get('upload-offset'), String(text.length), 'every byte was kept')
  t.equal(after.headers.get('job-location'), `/jobs/${id}`, 'the HEAD started the job')
  const job = await waitForJob(it.baseUrl, id, 60_000)
  t.equal(job.status, 'completed')
  const again = await head(url)
  t.equal(again.headers.get('job-location'), `/jobs/${id}`, 'and the job is started once')
})

t.test('S3 stalls in the middle of a PATCH: the PATCH fails within the stall deadline, and the upload resumes from what S3 holds', async (t) => {
  const it = await startFaultStack(t)
  const text = Buffer.from(generateText(9 * MiB, { seed: 4 }))
  const url = await create(it.baseUrl, text.length)
  // The first part (5 MiB in these tests) reaches S3; then S3 freezes.
  it.s3Proxy.stallAfter(6 * MiB)
  const started = performance.now()
  const stalled = await patch(url, 0, text)
  t.ok(stalled.status >= 500, `the PATCH fails (${stalled.status}) instead of hanging`)
  t.comment(`answered after ${(performance.now() - started).toFixed(0)} ms`)
  it.s3Proxy.pass()
  // As a tus client resumes: HEAD for the offset, PATCH from there; a 409 (the offset moved: a part
  // held by the stall landed meanwhile) means HEAD again.
  // The part the stall held may land once S3 moves again: then every byte is there already, and
  // the HEAD that sees it starts the job (a tus client sends no more PATCH then).
  const id = url.split('/').pop()!
  let jobLocation: string | null = null
  for (let attempt = 0; attempt < 5 && jobLocation === null; attempt++) {
    const state = await head(url)
    t.equal(state.status, 200)
    const offset = Number(state.headers.get('upload-offset'))
    t.ok(offset <= text.length, `the server holds ${offset} of ${text.length} bytes`)
    if (offset === text.length) {
      jobLocation = state.headers.get('job-location')
      break
    }
    const rest = await patch(url, offset, text.subarray(offset))
    t.ok(rest.status === 204 || rest.status === 409, `PATCH from ${offset}: ${rest.status}`)
    jobLocation = rest.headers.get('job-location')
  }
  t.equal(jobLocation, `/jobs/${id}`)
  const repeat = await patch(url, text.length, Buffer.alloc(0))
  t.equal(repeat.status, 204, 'a PATCH of nothing at the end of a finished upload is answered, not failed')
  t.equal(repeat.headers.get('job-location'), `/jobs/${id}`)
  const job = await waitForJob(it.baseUrl, id, 60_000)
  t.equal(job.status, 'completed', JSON.stringify(job.error ?? {}))
  t.equal(job.input.sizeBytes, text.length)
  const { GetObjectCommand } = await import('@aws-sdk/client-s3')
  const stored = await it.s3.send(new GetObjectCommand({ Bucket: it.bucket, Key: `sagegate/jobs/${id}/input` }))
  t.ok(Buffer.from(await stored.Body!.transformToByteArray()).equals(text), 'the stored input is exactly the bytes sent')
})

t.test('a PATCH whose client goes silent is ended after the idle timeout; what arrived is kept and the upload resumes', async (t) => {
  const it = await startFaultStack(t, (c) => ({ ...c, upload: { ...c.upload, idleTimeoutMs: 1000 } }))
  const text = Buffer.from(generateText(7 * MiB, { seed: 8 }))
  const url = await create(it.baseUrl, text.length)
  const { request } = await import('node:http')
  const closed = new Promise<number>((resolve) => {
    const started = performance.now()
    const req = request(url, { method: 'PATCH', headers: { ...tusHeaders, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(text.length) } })
    req.on('error', () => resolve(performance.now() - started))
    req.on('response', (res) => {
      res.resume()
      res.on('close', () => resolve(performance.now() - started))
    })
    // 6 MiB, then silence.
    req.write(text.subarray(0, 6 * MiB))
  })
  const ms = await closed
  t.ok(ms < 30_000, `the silent PATCH was ended (${ms.toFixed(0)} ms)`)
  const metrics = await (await fetch(`${it.baseUrl}/metrics`)).text()
  t.match(metrics, /sagegate_uploads_in_flight 0\b/, 'its upload slot is free again')
  const state = await head(url)
  const offset = Number(state.headers.get('upload-offset'))
  t.ok(offset > 0 && offset <= 6 * MiB, `what arrived is kept (${offset} bytes)`)
  const rest = await patch(url, offset, text.subarray(offset))
  t.equal(rest.status, 204)
  t.ok(rest.headers.get('job-location'))
})

t.test('a first PATCH that goes silent before its first bytes can be checked is ended too, its slot freed', async (t) => {
  const it = await startFaultStack(t, (c) => ({ ...c, upload: { ...c.upload, idleTimeoutMs: 1000 } }))
  const created = await fetch(`${it.baseUrl}/uploads`, {
    method: 'POST',
    headers: { ...tusHeaders, 'upload-length': '100000', 'upload-metadata': meta({ model: 'video-frames', filetype: 'video/mp4' }) },
  })
  t.equal(created.status, 201)
  const url = created.headers.get('location')!
  const { request } = await import('node:http')
  const ended = await new Promise<number>((resolve) => {
    const started = performance.now()
    const req = request(url, { method: 'PATCH', headers: { ...tusHeaders, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': '100000' } })
    req.on('error', () => resolve(performance.now() - started))
    req.on('response', (res) => {
      res.resume()
      res.on('close', () => resolve(performance.now() - started))
    })
    // Fewer bytes than the signature check needs, then silence.
    req.write(Buffer.from([0, 0, 0]))
  })
  t.ok(ended < 30_000, `the silent PATCH was ended (${ended.toFixed(0)} ms)`)
  await eventually('the upload slot to be free again', async () => /sagegate_uploads_in_flight 0\b/.test(await (await fetch(`${it.baseUrl}/metrics`)).text()))
  const state = await head(url)
  t.equal(state.status, 200)
  t.equal(state.headers.get('upload-offset'), '0', 'nothing was stored')
})
