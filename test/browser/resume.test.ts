import { execFile } from 'node:child_process'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg'
import type { Browser, Page, Request } from 'playwright-core'
import t, { type Test } from 'tap'
import { browserSkip, launchBrowser, openPage, screenshot } from '../helpers/browser.js'
import { generateText } from '../helpers/generate-text.js'
import { startTestStack, type TestStack } from '../helpers/stack.js'

// Resumable uploads through the web page, end to end: a real Chromium (playwright-core) uploads a
// ~100 MiB video and an ~8 MiB text with the page's tus client to the gateway on the embedded local
// stack; midway the network is cut (Chromium goes offline through CDP and the gateway side of the
// PATCH in flight is torn down); back online, the upload resumes from the server's offset (it does not
// start over), the job completes and its result is rendered and screenshotted.
//
// How the page resumes: a PATCH that fails while navigator.onLine is false is not retried by
// tus-js-client (its default onShouldRetry requires isOnline()), so the page keeps the upload, enables
// Resume and, once the browser is back online, resumes by itself: tus-js-client asks the offset (HEAD)
// and continues from there. The test follows whichever path the page takes (its own resume, the
// Resume button, or Upload again, which finds the earlier upload by its stored fingerprint).
//
// What the cut looks like from Chromium: the PATCH whose connection the gateway drops is resent once
// by Chromium itself (a reused keep-alive connection that breaks before any answer), and the gateway,
// which already stored part of that chunk, answers it 409 Conflict (stale Upload-Offset) — correct tus.
//
// Sizes: the video is a real 102.3 MiB mp4 (made in ~1–2 s, see makeLargeVideo), the text 8 MiB
// (one 8 MiB PATCH and a few bytes: app.js sends chunks of 8 MiB). The whole file takes ~25 s.

const skip = browserSkip()
if (skip !== false) console.error(`\n*** test/browser/resume.test.ts SKIPPED: ${skip} ***\n`)

const MiB = 1024 * 1024
const RESULT_TIMEOUT_MS = 150_000

const run = promisify(execFile)

/**
 * A real ~100 MiB mp4 that video-frames decodes in a couple of seconds: 2.5 s of full-frame noise
 * (fixed seed) encoded losslessly (x264 -qp 0, which cannot compress noise: ~40 MiB/s of video),
 * then 1 s of red, so there is a scene change. Takes ~2 s to make on 2 cores. `moov` is at the end
 * (ffmpeg's default), as a phone's recording.
 */
async function makeLargeVideo(path: string): Promise<void> {
  const size = 'size=1280x720:rate=25'
  await run(ffmpegInstaller.path, [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=gray:${size}:duration=2.5,noise=alls=100:allf=t+u:all_seed=42`,
    '-f', 'lavfi', '-i', `color=c=red:${size}:duration=1`,
    '-filter_complex', '[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[v]',
    '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-f', 'mp4', path,
  ], { timeout: 120_000 })
}

/** One tus request the page made, as Chromium saw it. */
interface TusCall {
  method: string
  path: string
  /** Upload-Offset sent (PATCH). */
  offset?: number
  status?: number
  /** Upload-Offset answered (HEAD, PATCH). */
  answeredOffset?: number
  jobLocation?: string
  failed?: string
  done: boolean
}

/** Records every request to /uploads… with its answer (or failure). */
function recordTus(page: Page): TusCall[] {
  const calls: TusCall[] = []
  const byRequest = new Map<Request, TusCall>()
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname
    if (!path.startsWith('/uploads')) return
    const offset = request.headers()['upload-offset']
    const call: TusCall = { method: request.method(), path, ...(offset !== undefined ? { offset: Number(offset) } : {}), done: false }
    calls.push(call)
    byRequest.set(request, call)
  })
  page.on('requestfinished', async (request) => {
    const call = byRequest.get(request)
    if (call === undefined) return
    const response = await request.response()
    if (response !== null) {
      call.status = response.status()
      const headers = response.headers()
      if (headers['upload-offset'] !== undefined) call.answeredOffset = Number(headers['upload-offset'])
      if (headers['job-location'] !== undefined) call.jobLocation = headers['job-location']
    }
    call.done = true
  })
  page.on('requestfailed', (request) => {
    const call = byRequest.get(request)
    if (call === undefined) return
    call.failed = request.failure()?.errorText ?? 'failed'
    call.done = true
  })
  return calls
}

/** Polls `check` until it returns a value (not undefined), failing after `timeoutMs`. */
async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

t.test('uploads through the page survive a network cut and resume where they stopped', { skip }, async (t) => {
  const browser: Browser = await launchBrowser(t)
  const it: TestStack = await startTestStack(t)
  const dir = await mkdtemp(join(tmpdir(), 'sagegate-resume-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  // The gateway's side: every connection (to count what the browser sent, cut requests and resends
  // included) and every PATCH in flight (to cut once the gateway has read enough, and to kill the
  // connection carrying the chunk being sent: offline emulation alone may let a request already on
  // the wire finish). Only listens: the bodies are still read by the gateway alone.
  const connections = new Set<Socket>()
  it.app.server.on('connection', (socket: Socket) => connections.add(socket))
  /** Bytes the gateway has read from the browser (and this test's few fetches) so far. */
  const bytesReceived = () => [...connections].reduce((sum, socket) => sum + socket.bytesRead, 0)
  const inFlight = new Map<IncomingMessage, { offset: number; base: number }>()
  it.app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'PATCH' || !req.url?.startsWith('/uploads/')) return
    inFlight.set(req, { offset: Number(req.headers['upload-offset'] ?? 0), base: req.socket.bytesRead })
    // Done when answered or broken, whichever comes first (a body the gateway refuses, e.g. on a
    // 409, is not read to its end).
    const done = () => inFlight.delete(req)
    req.once('close', done)
    res.once('close', done)
  })
  /** How far the upload has got on the gateway's side: the furthest byte read by a PATCH in flight. */
  const serverProgress = () => Math.max(0, ...[...inFlight].map(([req, { offset, base }]) => offset + req.socket.bytesRead - base))

  /**
   * Chooses `file` for `model` on a fresh page, uploads it, cuts the network once the gateway has
   * read `cutAtPercent` % of it, comes back online, resumes, and waits for `rendered`. Asserts the upload
   * resumed from the server's offset rather than starting over.
   */
  async function uploadThroughCut(
    t: Test,
    options: { model: string; file: string; size: number; cutAtPercent: number; rendered: string; screenshotName: string },
  ): Promise<{ page: Page; jobId: string }> {
    const { model, file, size, cutAtPercent, rendered, screenshotName } = options
    const started = Date.now()
    const receivedAtStart = bytesReceived()
    // Chromium logs the requests the cut breaks (net::ERR_INTERNET_DISCONNECTED and the like, or the
    // 409 of a resent PATCH, see below).
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`, { expectedErrors: /net::ERR_|status of 409 \(Conflict\)/ })
    const context = page.context()
    t.teardown(() => context.close())
    const calls = recordTus(page)
    await page.locator(`#model-${model}`).check()
    await page.getByLabel('Choose a file').setInputFiles(file)
    await page.getByRole('button', { name: 'Upload' }).click()

    // Midway: once the gateway has read cutAtPercent % of the file (not the page's progress bar: it
    // counts bytes handed to the socket, and races to 100 % of an 8 MiB chunk well before the gateway
    // has read it), go offline and tear down the PATCH in flight.
    const cutOffset = Math.floor((size * cutAtPercent) / 100)
    await until(`the gateway to have read ${cutAtPercent} %`, () => (serverProgress() >= cutOffset ? true : undefined), 120_000, 2)
    await context.setOffline(true)
    const cutAt = calls.length
    const readAtCut = serverProgress()
    const killed = [...inFlight.keys()]
    for (const req of killed) req.socket.destroy()
    t.comment(`${model}: network cut with ${readAtCut} of ${size} bytes read by the gateway (${((readAtCut / size) * 100).toFixed(0)} %), ${killed.length} PATCH in flight killed`)
    t.ok(readAtCut < size, 'the cut happens before the gateway has the whole file')
    t.equal(killed.length, 1, 'a PATCH was in flight')

    // While offline the page cannot get through: it gives up (or keeps retrying). Stay offline a
    // moment either way, then come back.
    const offlineSince = Date.now()
    await until('the page to notice the cut', async () =>
      calls.slice(cutAt).some((c) => c.failed !== undefined) || (await page.locator('#resume').isEnabled()) || (await page.locator('#upload').isEnabled()) ? true : undefined,
    )
    const offlineFor = 1500 - (Date.now() - offlineSince)
    if (offlineFor > 0) await new Promise((r) => setTimeout(r, offlineFor))
    const pageState = await page.locator('#progress-text').textContent()
    await context.setOffline(false)
    const onlineAt = calls.length
    // The PATCH cut off fails, or (Chromium resends a request whose reused keep-alive connection
    // breaks before any answer) is answered 409 Conflict: the gateway already holds part of that
    // chunk, so the offset it was sent with is stale. Either way the page does not get through.
    t.ok(calls.slice(0, onlineAt).some((c) => c.method === 'PATCH' && (c.failed !== undefined || c.status === 409)), 'the PATCH in flight was cut off')
    t.equal(calls.slice(0, onlineAt).find((c) => c.method === 'PATCH' && c.failed === undefined && c.answeredOffset === size), undefined, 'no PATCH completed the upload before the cut')

    // Resume: the page's own retry, its Resume button, or (after it gave up) Upload again.
    let how: string
    if (await page.locator('#resume').isEnabled()) {
      how = 'the Resume button'
      await page.getByRole('button', { name: 'Resume' }).click()
    } else if (await page.locator('#upload').isEnabled()) {
      how = `Upload again after "${pageState}"`
      t.equal(await page.locator('#progress-text').textContent(), 'The upload failed.', 'the page says the upload failed')
      t.ok(await page.getByRole('alert').isVisible(), 'and shows the problem')
      t.match(JSON.parse(await page.evaluate<string>('JSON.stringify(Object.keys(localStorage))')), [new RegExp(`^tus::sagegate\\|${model}\\|`)], 'the fingerprint is kept for resuming')
      await page.getByRole('button', { name: 'Upload' }).click()
    } else how = 'the page itself, back online'
    t.comment(`${model}: resumed by ${how}`)

    const result = page.locator(rendered)
    await result.first().waitFor({ timeout: RESULT_TIMEOUT_MS })
    await page.locator('#job-status').filter({ hasText: /completed\.$/ }).waitFor({ timeout: RESULT_TIMEOUT_MS })
    await until('every tus request to settle', () => (calls.every((c) => c.done) ? true : undefined))

    // One upload, resumed from the server's offset, never from 0.
    t.equal(calls.filter((c) => c.method === 'POST').length, 1, 'one upload created, no second one')
    const after = calls.slice(onlineAt)
    const firstPatch = after.find((c) => c.method === 'PATCH')
    t.ok(firstPatch, 'PATCHes after the cut')
    const acknowledged = Math.max(0, ...calls.slice(0, onlineAt).flatMap((c) => (c.method === 'PATCH' && c.answeredOffset !== undefined ? [c.answeredOffset] : [])))
    t.ok(firstPatch!.offset! > 0, `the first PATCH after the cut resumes at ${firstPatch!.offset} of ${size}, not at 0`)
    t.ok(firstPatch!.offset! >= acknowledged, `at or past what the server had acknowledged before the cut (${acknowledged})`)
    const head = after.find((c) => c.method === 'HEAD')
    if (head !== undefined) t.equal(firstPatch!.offset, head.answeredOffset, "at the offset the server answered to HEAD")
    t.notOk(after.some((c) => c.method === 'PATCH' && c.offset === 0), 'no PATCH from 0 after the cut')

    // Bytes sent, as read by the gateway from the browser (cut PATCHes and Chromium's resends
    // included; the page's few other requests too).
    const patches = calls.filter((c) => c.method === 'PATCH')
    const sent = bytesReceived() - receivedAtStart
    t.ok(sent >= size, `the gateway read ${(sent / MiB).toFixed(1)} MiB from the browser for ${(size / MiB).toFixed(1)} MiB`)
    t.ok(sent < 1.5 * size, 'less than 1.5× the file: the upload did not start over')
    const last = patches.at(-1)!
    t.equal(last.answeredOffset, size, 'the last PATCH completes the upload')
    const jobLocation = last.jobLocation
    t.match(jobLocation, /^\/jobs\/[A-Za-z0-9_-]{22}$/, 'with Job-Location')
    const jobId = jobLocation!.split('/').pop()!

    const job = (await (await fetch(`${it.baseUrl}/jobs/${jobId}`)).json()) as { status: string; model: string; error?: unknown }
    t.match(job, { status: 'completed', model }, `the job completed ${JSON.stringify(job.error ?? '')}`)
    t.match(await page.locator('#progress-text').textContent(), new RegExp(`^Uploaded ${file.split('/').pop()!.replace('.', '\\.')} `), 'the page says the upload is done')
    t.match(page.url(), new RegExp(`#job=${jobId}$`), 'and follows that job')
    t.same(JSON.parse(await page.evaluate<string>('JSON.stringify(Object.keys(localStorage))')), [], 'the fingerprint is removed on success')
    t.ok(await page.locator('#problem').isHidden(), 'no problem left on the page')
    t.comment(`${model}: tus requests: ${calls.map((c, i) => `${i === onlineAt ? '| online | ' : ''}${c.method}${c.offset !== undefined ? ` @${c.offset}` : ''} → ${c.failed ?? `${c.status}${c.answeredOffset !== undefined ? ` @${c.answeredOffset}` : ''}`}`).join(', ')}`)
    const shot = await screenshot(page, screenshotName)
    t.comment(`${model}: ${patches.length} PATCHes, ${calls.length} tus requests, ${((Date.now() - started) / 1000).toFixed(1)} s; screenshot ${shot}`)
    t.same(problems, [], 'no console errors but the cut requests, no CSP violation')
    return { page, jobId }
  }

  t.test('a ~100 MiB video to video-frames: cut at 40 %, resumed, frames and chart rendered', async (t) => {
    const file = join(dir, 'noise.mp4')
    const began = Date.now()
    await makeLargeVideo(file)
    const { size } = await stat(file)
    t.comment(`video: ${(size / MiB).toFixed(1)} MiB made in ${((Date.now() - began) / 1000).toFixed(1)} s`)
    t.ok(size >= 90 * MiB && size <= 130 * MiB, `the video is about 100 MiB (${(size / MiB).toFixed(1)} MiB)`)

    const { page } = await uploadThroughCut(t, { model: 'video-frames', file, size, cutAtPercent: 40, rendered: '#result table tbody tr', screenshotName: 'resume-video-frames' })
    t.match(await page.locator('#result p').first().textContent(), /^4 frames at 1 fps from a 1280×720 h264 video of 3\.5 s; 1 scene change \(at 3 s\)\.$/)
    t.equal(await page.locator('#result table tbody tr').count(), 4, 'a row per sampled frame')
    t.equal(await page.locator('#result table tbody tr.cut').count(), 1, 'the cut from noise to red marked')
    t.ok(await page.locator('#result svg.chart polyline.line').isVisible(), 'the luminance chart')
  })

  t.test('an ~8 MiB text to summarize: cut midway, resumed, summary rendered', async (t) => {
    const file = join(dir, 'report.txt')
    const text = generateText(8 * MiB, { seed: 7 })
    await writeFile(file, text)
    const size = Buffer.byteLength(text)
    const { page } = await uploadThroughCut(t, { model: 'summarize', file, size, cutAtPercent: 40, rendered: '#result p.summary', screenshotName: 'resume-summarize' })
    const summary = (await page.locator('#result p.summary').first().textContent())!
    t.match(summary, /\S/, 'a summary')
    t.ok(text.includes(summary.split(/(?<=\.)\s+/)[0]!), 'made of the uploaded text')
  })

  t.test('nothing is left half-done', async (t) => {
    t.equal(await it.openUploads(), 0, 'no multipart upload left open')
  })
})
