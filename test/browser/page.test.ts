import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import type { Browser, Page } from 'playwright-core'
import t from 'tap'
import { webRoutes } from '../../src/routes/web.js'
import { KEYS, withKeys } from '../helpers/auth.js'
import { browserSkip, launchBrowser, openPage, screenshot } from '../helpers/browser.js'
import { makeTestVideo } from '../helpers/make-video.js'
import { startTestStack, waitForJob, type TestStack } from '../helpers/stack.js'

// The web page at / in a real Chromium (playwright-core), against the gateway on the embedded local
// stack: it runs under helmet's CSP without a single violation, lists the models, calls a real-time
// model, shows problems, fits a phone, follows jobs to their rendered results, and uploads with tus.

const PHONE = { width: 390, height: 844 }
const skip = browserSkip()

/** Horizontal overflow of the page, in CSS pixels (0: no horizontal scroll). */
const overflowX = (page: Page) => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')

/** The gateway's tus capability discovery (OPTIONS /uploads): the page's upload form relies on it. */
async function tusDiscovery(baseUrl: string): Promise<{ status: number; version: string | null; resumable: string | null }> {
  const res = await fetch(`${baseUrl}/uploads`, { method: 'OPTIONS', headers: { 'tus-resumable': '1.0.0' } })
  await res.body?.cancel()
  return { status: res.status, version: res.headers.get('tus-version'), resumable: res.headers.get('tus-resumable') }
}

const ARTICLE =
  'The city council approved the new transit budget on Tuesday after a long debate. ' +
  'The plan adds forty electric buses to the fleet by the end of next year. ' +
  'Residents at the hearing asked for more bike lanes and safer crossings near schools. ' +
  'Officials said night service on the main lines will start in June. ' +
  'The budget also funds repairs to three old bridges downtown. ' +
  'Critics argued that fares should have been frozen for another year.'

t.test('the web page', { skip }, async (t) => {
  const browser: Browser = await launchBrowser(t)
  const it: TestStack = await startTestStack(t)

  t.test('serves the page, its assets and tus-js-client publicly, with CSP and revalidation', async (t) => {
    const page = await fetch(`${it.baseUrl}/`)
    t.equal(page.status, 200)
    t.match(page.headers.get('content-type'), /^text\/html/)
    t.match(page.headers.get('content-security-policy'), /script-src 'self'/)
    t.equal(page.headers.get('cache-control'), 'no-cache')
    const html = await page.text()
    t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script')
    t.notMatch(html, /\son[a-z]+=/i, 'no inline event handler')
    for (const [path, type] of [
      ['/assets/app.js', /javascript/],
      ['/assets/style.css', /text\/css/],
      ['/assets/tus.min.js', /javascript/],
    ] as const) {
      const res = await fetch(`${it.baseUrl}${path}`)
      t.equal(res.status, 200, path)
      t.match(res.headers.get('content-type'), type, path)
      t.ok(res.headers.get('cache-control'), `${path} has a cache-control header`)
      await res.body?.cancel()
    }
    t.equal((await fetch(`${it.baseUrl}/assets/index.html`)).status, 404, 'the page only at /')
    const spec = (await (await fetch(`${it.baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> }
    t.notOk('/' in spec.paths, 'the page is not part of the API description')
    t.notOk(Object.keys(spec.paths).some((p) => p.startsWith('/assets')), 'nor are its assets')
  })

  t.test('loads without console errors or CSP violations and lists the models with their types and limits', async (t) => {
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`)
    await page.locator('#model-list li').first().waitFor()
    const summarize = page.locator('li[data-model="summarize"]')
    t.equal(await summarize.locator('.types').textContent(), 'text/plain, application/json')
    t.equal(await summarize.locator('.max-bytes').textContent(), '10 MiB')
    const video = page.locator('li[data-model="video-frames"]')
    t.equal(await video.locator('.types').textContent(), 'video/mp4, video/quicktime, video/webm')
    t.equal(await video.locator('.max-bytes').textContent(), '1 GiB')
    await page.locator('li[data-model="sentiment"]').waitFor()
    t.match(await page.locator('#models-status').textContent(), /models available/)
    // Choosing an async model (by keyboard) shows the upload form with its accepted types.
    await page.locator('#model-summarize').focus()
    await page.keyboard.press('Space')
    await page.locator('#async-panel').waitFor()
    t.match(await page.locator('#file-help').textContent(), /text\/plain, application\/json, up to 10 MiB/)
    t.equal(await page.locator('#file').getAttribute('accept'), 'text/plain,application/json')
    await page.waitForLoadState('networkidle')
    t.same(problems, [], 'no console errors, page errors or CSP violations')
    await page.context().close()
  })

  t.test('a real-time model: the JSON answer is shown, pretty-printed', async (t) => {
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`)
    await page.locator('#model-sentiment').check()
    await page.getByLabel('Input text').fill('I really love this wonderful product')
    const request = page.waitForRequest((r) => r.url().endsWith('/models/sentiment/predict'))
    await page.getByRole('button', { name: 'Send' }).click()
    const sent = await request
    t.equal(sent.headers()['content-type'], 'application/json')
    t.same(sent.postDataJSON(), { inputs: 'I really love this wonderful product' })
    const answer = page.locator('#result pre')
    await answer.waitFor()
    const text = (await answer.textContent())!
    t.match(JSON.parse(text), [{ label: 'POSITIVE' }])
    t.equal(text, JSON.stringify(JSON.parse(text), null, 2), 'pretty-printed')
    t.match(await page.locator('#job-status').textContent(), /sentiment answered/)
    t.ok(await page.locator('#problem').isHidden())
    await screenshot(page, 'realtime-sentiment')
    t.same(problems, [])
    await page.context().close()
  })

  t.test('a problem from the model is shown as its title and detail', async (t) => {
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`, { expectedErrors: /status of 4\d\d/ })
    await page.locator('#model-sentiment').check()
    // An empty text is no input for the model: the gateway answers a problem.
    await page.getByLabel('Input text').fill('')
    await page.getByRole('button', { name: 'Send' }).click()
    const alert = page.getByRole('alert')
    await alert.waitFor()
    t.match(await page.locator('#problem-title').textContent(), /\S/)
    t.match(await page.locator('#problem-detail').textContent(), /\S/)
    t.same(problems, [])
    await page.context().close()
  })

  t.test('on a phone-sized viewport nothing scrolls sideways', async (t) => {
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`, { viewport: PHONE })
    await page.locator('#model-list li').first().waitFor()
    await page.locator('li[data-model="sentiment"]').waitFor()
    t.equal(await overflowX(page), 0, 'the model list')
    await page.locator('#model-video-frames').check()
    t.equal(await overflowX(page), 0, 'the upload form')
    await page.locator('#model-sentiment').check()
    await page.getByLabel('Input text').fill('What a wonderful, lovely day')
    await page.getByRole('button', { name: 'Send' }).click()
    await page.locator('#result pre').waitFor()
    t.equal(await overflowX(page), 0, 'a real-time answer')
    await screenshot(page, 'phone-realtime')
    t.same(problems, [])
    await page.context().close()
  })

  t.test('a video-frames job (#job=<id>) renders frames, a luminance chart and scene changes, on a phone too', async (t) => {
    const video = join(it.dataDir, 'clip.mp4')
    await makeTestVideo(video, { segments: [{ seconds: 2, source: 'testsrc' }, { seconds: 1, source: 'red' }, { seconds: 1, source: 'white' }] })
    const res = await fetch(`${it.baseUrl}/models/video-frames/jobs`, { method: 'POST', headers: { 'content-type': 'video/mp4' }, body: await readFile(video) })
    t.equal(res.status, 202)
    const { id } = (await res.json()) as { id: string }
    const done = await waitForJob(it.baseUrl, id)
    t.equal(done.status, 'completed', JSON.stringify(done.error))
    const analysis = (await (await fetch(`${it.baseUrl}/jobs/${id}/result`)).json()) as { frames: unknown[]; sceneChanges: Array<{ timeSeconds: number }> }

    for (const [name, viewport] of [['desktop', undefined], ['phone', PHONE]] as const) {
      const { page, problems } = await openPage(browser, `${it.baseUrl}/#job=${id}`, viewport ? { viewport } : {})
      await page.locator('#result table').waitFor()
      t.equal(await page.locator('#result tbody tr').count(), analysis.frames.length, `${name}: one row per frame`)
      t.equal(await page.locator('#result tbody tr.cut').count(), analysis.sceneChanges.length, `${name}: scene changes marked in the table`)
      t.ok(analysis.sceneChanges.length >= 1)
      t.equal(await page.locator('#result svg.chart polyline').count(), 1, `${name}: the luminance line`)
      t.equal(await page.locator('#result svg.chart line.cut').count(), analysis.sceneChanges.length, `${name}: scene changes marked on the chart`)
      t.match(await page.locator('#job-status').textContent(), /completed\./)
      t.equal(await overflowX(page), 0, `${name}: no horizontal scroll`)
      await screenshot(page, `video-frames-${name}`)
      t.same(problems, [], name)
      await page.context().close()
    }
  })

  t.test('a summarize job (#job=<id>) renders the summary as text', async (t) => {
    const res = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: ARTICLE })
    t.equal(res.status, 202)
    const { id } = (await res.json()) as { id: string }
    const { page, problems } = await openPage(browser, `${it.baseUrl}/#job=${id}`)
    const summary = page.locator('#result p.summary')
    await summary.first().waitFor()
    const text = (await summary.first().textContent())!
    t.ok(text.length > 0 && text.length < ARTICLE.length)
    for (const sentence of text.split(/(?<=\.)\s+/)) t.ok(ARTICLE.includes(sentence), 'sentences from the article')
    await screenshot(page, 'summarize-job')
    t.same(problems, [])
    await page.context().close()
  })

  t.test('a file uploaded through the page (tus) to summarize ends as a rendered summary', async (t) => {
    // The gateway has /uploads (routes/uploads.ts): a missing endpoint is a failure, not a reason to skip.
    t.match(await tusDiscovery(it.baseUrl), { status: 204, version: /\b1\.0\.0\b/, resumable: '1.0.0' }, 'the gateway answers tus capability discovery')
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`)
    await page.locator('#model-summarize').check()
    await page.getByLabel('Choose a file').setInputFiles({ name: 'article.txt', mimeType: 'text/plain', buffer: Buffer.from(ARTICLE) })
    const created = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/uploads')
    await page.getByRole('button', { name: 'Upload' }).click()
    const post = await created
    const metadata = Object.fromEntries(
      (post.headers()['upload-metadata'] ?? '').split(',').map((pair) => {
        const [k, v = ''] = pair.trim().split(' ')
        return [k, Buffer.from(v, 'base64').toString()]
      }),
    )
    t.match(metadata, { model: 'summarize', filetype: 'text/plain', filename: 'article.txt' })
    const summary = page.locator('#result p.summary')
    await summary.first().waitFor({ timeout: 90_000 })
    t.ok(ARTICLE.includes((await summary.first().textContent())!.split(/(?<=\.)\s+/)[0]!))
    t.match(await page.locator('#progress-text').textContent(), /Uploaded article\.txt/)
    t.match(page.url(), /#job=[A-Za-z0-9_-]{22}$/, 'a reload follows the same job')
    await screenshot(page, 'summarize-upload')
    t.same(problems, [])
    await page.context().close()
  })
})

t.test('with API keys configured', { skip }, async (t) => {
  const browser = await launchBrowser(t)
  const it = await startTestStack(t, { configure: withKeys() })

  t.test('the page loads without a key; a wrong key shows the 401 problem; the right key lists the models', async (t) => {
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`, { expectedErrors: /status of 401/ })
    // No key yet: the page itself loads, the model list says why it cannot be shown.
    await page.getByRole('alert').waitFor()
    t.equal(await page.locator('#problem-title').textContent(), 'Unauthorized')
    t.match(await page.locator('#problem-detail').textContent(), /An API key is required/)

    await page.getByLabel('API key', { exact: true }).fill('sg_not_a_key_at_all')
    await page.getByRole('button', { name: 'Use key' }).click()
    await page.locator('#problem-detail').filter({ hasText: 'The API key is not valid.' }).waitFor()
    t.equal(await page.locator('#problem-title').textContent(), 'Unauthorized')
    t.equal(await page.locator('#model-list li').count(), 0)
    await screenshot(page, 'wrong-key')

    await page.getByLabel('API key', { exact: true }).fill(KEYS.acmeWeb)
    await page.getByLabel('API key', { exact: true }).press('Enter')
    await page.locator('li[data-model="summarize"]').waitFor()
    t.ok(await page.locator('#problem').isHidden(), 'the problem is gone')
    t.equal(await page.evaluate<string | null>("sessionStorage.getItem('sagegate.apiKey')"), KEYS.acmeWeb, 'the key is kept in sessionStorage')

    // The key goes with the model call as a bearer token.
    await page.locator('li[data-model="sentiment"]').waitFor()
    await page.locator('#model-sentiment').check()
    await page.getByLabel('Input text').fill('good')
    const request = page.waitForRequest((r) => r.url().endsWith('/models/sentiment/predict'))
    await page.getByRole('button', { name: 'Send' }).click()
    t.equal((await request).headers().authorization, `Bearer ${KEYS.acmeWeb}`)
    await page.locator('#result pre').waitFor()

    // A reload keeps the key (same tab).
    await page.reload()
    await page.locator('li[data-model="summarize"]').waitFor()
    t.equal(await page.getByLabel('API key', { exact: true }).inputValue(), KEYS.acmeWeb)
    t.same(problems, [])
    await page.context().close()
  })

  t.test("a key limited to one model lists only that one", async (t) => {
    const { page, problems } = await openPage(browser, `${it.baseUrl}/`, { expectedErrors: /status of 401/ })
    await page.getByLabel('API key', { exact: true }).fill(KEYS.acmeBatch)
    await page.getByRole('button', { name: 'Use key' }).click()
    await page.locator('li[data-model="summarize"]').waitFor()
    t.equal(await page.locator('#model-list li').count(), 1)
    t.same(problems, [])
    await page.context().close()
  })
})

// The page's tus client on its own, against a minimal in-memory tus 1.0 server (the gateway's /uploads
// is tested by its own suite): chunks of 8 MiB, the metadata, Job-Location from the last PATCH, pause
// and resume, and, after a reload, resuming the same file by its stored fingerprint.
t.test('the tus client: chunks, pause and resume, resume after a reload', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sagegate-page-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'long.txt')
  await writeFile(file, Buffer.alloc(30 * 1024 * 1024, 'b'))

  const app = Fastify({ bodyLimit: 64 * 1024 * 1024 })
  t.teardown(() => app.close())
  await app.register(webRoutes())
  const uploads = new Map<string, { length: number; offset: number; metadata: string }>()
  const seen: string[] = []
  app.addContentTypeParser('application/offset+octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  app.get('/models', async () => ({ models: [{ name: 'summarize', mode: 'async', endpointName: 'e', contentTypes: ['text/plain'], maxBytes: 1024 ** 3 }] }))
  app.post('/uploads', async (req, reply) => {
    // Unlike the gateway's, the upload's id is not the job's: the page must read Job-Location.
    const id = `upload-${uploads.size + 1}`
    uploads.set(id, { length: Number(req.headers['upload-length']), offset: 0, metadata: String(req.headers['upload-metadata']) })
    seen.push('POST')
    return reply.code(201).headers({ 'tus-resumable': '1.0.0', location: `/uploads/${id}` }).send()
  })
  app.head('/uploads/:id', async (req, reply) => {
    const u = uploads.get((req.params as { id: string }).id)!
    seen.push('HEAD')
    return reply.headers({ 'tus-resumable': '1.0.0', 'upload-offset': String(u.offset), 'upload-length': String(u.length), 'cache-control': 'no-store' }).send()
  })
  // The second PATCH is answered only once the test has paused: on a fast machine the whole file
  // would otherwise be sent before Pause can be pressed.
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let patches = 0
  app.patch('/uploads/:id', async (req, reply) => {
    if (++patches === 2) await held
    const { id } = req.params as { id: string }
    const u = uploads.get(id)!
    u.offset += (req.body as Buffer).length
    seen.push(`PATCH ${(req.body as Buffer).length}`)
    return reply
      .code(204)
      .headers({ 'tus-resumable': '1.0.0', 'upload-offset': String(u.offset), ...(u.offset === u.length ? { 'job-location': `/jobs/job${id.slice('upload-'.length).padStart(19, '0')}` } : {}) })
      .send()
  })
  app.get('/jobs/:id', async (req) => ({ id: (req.params as { id: string }).id, model: 'summarize', status: 'completed' }))
  app.get('/jobs/:id/result', async (req, reply) => reply.type('application/json').send([{ summary_text: `The summary of ${(req.params as { id: string }).id}.` }]))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })

  const browser = await launchBrowser(t)
  const { page, problems } = await openPage(browser, `${url}/`)
  await page.locator('#model-summarize').check()
  await page.getByLabel('Choose a file').setInputFiles(file)
  await page.getByRole('button', { name: 'Upload' }).click()
  await page.waitForFunction("document.getElementById('progress').value > 0")
  await page.getByRole('button', { name: 'Pause' }).click()
  t.match(await page.locator('#progress-text').textContent(), /^Paused at \d+ %/)
  t.ok(await page.getByRole('button', { name: 'Resume' }).isEnabled())
  t.match(JSON.parse(await page.evaluate<string>('JSON.stringify(Object.keys(localStorage))')), [/^tus::sagegate\|summarize\|long\.txt\|/], 'the fingerprint is stored')
  const metadata = Object.fromEntries(
    [...uploads.values()][0]!.metadata.split(',').map((pair) => {
      const [k, v = ''] = pair.split(' ')
      return [k, Buffer.from(v, 'base64').toString()]
    }),
  )
  t.same(metadata, { model: 'summarize', filetype: 'text/plain', filename: 'long.txt' })
  release()

  // A reload forgets the upload in memory; choosing the same file again resumes it by fingerprint.
  await page.reload()
  await page.locator('#model-summarize').check()
  await page.getByLabel('Choose a file').setInputFiles(file)
  await page.getByRole('button', { name: 'Upload' }).click()
  await page.locator('#result p.summary').waitFor()
  t.equal(await page.locator('#result p.summary').textContent(), 'The summary of job0000000000000000001.', 'the job from Job-Location')
  t.equal(seen.filter((s) => s === 'POST').length, 1, 'one upload, resumed')
  t.ok(seen.includes('HEAD'), 'its offset asked for after the reload')
  t.ok(seen.filter((s) => s.startsWith('PATCH')).every((s) => Number(s.split(' ')[1]) <= 8 * 1024 * 1024), 'chunks of at most 8 MiB')
  t.equal([...uploads.values()][0]!.offset, 30 * 1024 * 1024)
  t.match(await page.locator('#progress-text').textContent(), /Uploaded long\.txt \(30 MiB\)/)
  t.same(JSON.parse(await page.evaluate<string>('JSON.stringify(Object.keys(localStorage))')), [], 'the fingerprint is removed on success')
  t.same(problems, [])
})
