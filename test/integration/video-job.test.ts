import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { makeTestVideo } from '../helpers/make-video.js'
import { startTestStack, waitForJob } from '../helpers/stack.js'

t.test('an mp4 becomes a job that samples one frame per second', async (t) => {
  const it = await startTestStack(t)
  const video = join(it.dataDir, 'clip.mp4')
  await makeTestVideo(video, { segments: [{ seconds: 2, source: 'testsrc' }, { seconds: 1, source: 'red' }] })
  const bytes = await readFile(video)

  const res = await fetch(`${it.baseUrl}/models/video-frames/jobs`, { method: 'POST', headers: { 'content-type': 'video/mp4' }, body: bytes })
  t.equal(res.status, 202)
  const job = (await res.json()) as { id: string; status: string; input: { sizeBytes: number } }
  t.equal(res.headers.get('location'), `/jobs/${job.id}`)
  t.equal(job.input.sizeBytes, bytes.length)

  const done = await waitForJob(it.baseUrl, job.id)
  t.equal(done.status, 'completed', JSON.stringify(done.error))
  t.equal(done.result.contentType, 'application/json')

  const result = await fetch(`${it.baseUrl}/jobs/${job.id}/result`)
  t.equal(result.status, 200)
  t.equal(result.headers.get('content-type'), 'application/json')
  const analysis = (await result.json()) as { frameCount: number; frames: Array<{ timeSeconds: number }>; sceneChanges: Array<{ timeSeconds: number }> }
  t.equal(analysis.frameCount, 3)
  t.same(analysis.frames.map((f) => f.timeSeconds), [0, 1, 2])
  t.ok(analysis.sceneChanges.some((s) => s.timeSeconds === 2), 'the cut to red is a scene change')
})

t.test('a multipart upload with fps=2 in a form field samples two frames per second', async (t) => {
  const it = await startTestStack(t)
  const video = join(it.dataDir, 'clip.webm')
  await makeTestVideo(video, { segments: [{ seconds: 2, source: 'testsrc' }], container: 'webm' })
  const form = new FormData()
  form.append('customAttributes', 'fps=2')
  form.append('file', new Blob([await readFile(video)], { type: 'video/webm' }), 'clip.webm')

  const res = await fetch(`${it.baseUrl}/models/video-frames/jobs`, { method: 'POST', body: form })
  t.equal(res.status, 202)
  const job = (await res.json()) as { id: string; input: { filename: string; contentType: string } }
  t.equal(job.input.filename, 'clip.webm')
  t.equal(job.input.contentType, 'video/webm')
  const done = await waitForJob(it.baseUrl, job.id)
  t.equal(done.status, 'completed', JSON.stringify(done.error))
  const analysis = (await (await fetch(`${it.baseUrl}/jobs/${job.id}/result`)).json()) as { fps: number; frameCount: number }
  t.equal(analysis.fps, 2)
  t.equal(analysis.frameCount, 4)
})

t.test("an undecodable video fails the job with a stable code; the model's message stays in the logs", async (t) => {
  const it = await startTestStack(t)
  // Starts like an mp4 (so the gateway accepts it) but is not one.
  const body = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(4096, 0x42)])
  const res = await fetch(`${it.baseUrl}/models/video-frames/jobs`, { method: 'POST', headers: { 'content-type': 'video/mp4' }, body })
  t.equal(res.status, 202)
  const { id } = (await res.json()) as { id: string }
  const done = await waitForJob(it.baseUrl, id)
  t.equal(done.status, 'failed')
  t.same(done.error, { code: 'ModelError', message: 'The model failed to process the input.' })
  const result = await fetch(`${it.baseUrl}/jobs/${id}/result`)
  t.equal(result.status, 409)
  t.match(await result.json(), { status: 409, code: 'job_not_completed', jobStatus: 'failed' })
})
