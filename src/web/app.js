// @ts-check
// The sagegate page: pick a model, upload a file for an async model (tus, resumable) and follow the
// job to its result, or call a real-time model. No framework; tus-js-client's browser build is loaded
// before this module (/assets/tus.min.js, global `tus`). No inline script or style: the page runs
// under helmet's Content-Security-Policy.

/**
 * @typedef {{ name: string, mode: 'async' | 'realtime', endpointName: string, contentTypes: string[], maxBytes: number, streaming?: boolean, description?: string }} Model
 * @typedef {{ title?: string, detail?: string, code?: string, status?: number }} Problem
 * @typedef {{ id: string, model: string, status: string, error?: { code: string, message: string }, result?: { contentType: string, sizeBytes: number } }} Job
 */

/** @type {any} */
const tus = /** @type {any} */ (globalThis).tus

const KEY_STORAGE = 'sagegate.apiKey'
const CHUNK_SIZE = 8 * 1024 * 1024
const SVG_NS = 'http://www.w3.org/2000/svg'

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id))
const keyInput = /** @type {HTMLInputElement} */ ($('api-key'))
const fileInput = /** @type {HTMLInputElement} */ ($('file'))
const attributesInput = /** @type {HTMLInputElement} */ ($('custom-attributes'))
const predictInput = /** @type {HTMLTextAreaElement} */ ($('predict-input'))
const uploadButton = /** @type {HTMLButtonElement} */ ($('upload'))
const pauseButton = /** @type {HTMLButtonElement} */ ($('pause'))
const resumeButton = /** @type {HTMLButtonElement} */ ($('resume'))
const sendButton = /** @type {HTMLButtonElement} */ ($('send'))
const progress = /** @type {HTMLProgressElement} */ ($('progress'))

/** @type {Model[]} */
let models = []
/** @type {Model | undefined} */
let current
/** @type {any} the tus.Upload in progress */
let upload
/** Bumped whenever what is shown changes, so that a stale poll stops. */
let generation = 0

// --- API calls ---------------------------------------------------------------------------------

const apiKey = () => sessionStorage.getItem(KEY_STORAGE) ?? ''
/** @returns {Record<string, string>} */
const authHeaders = () => (apiKey() === '' ? {} : { authorization: `Bearer ${apiKey()}` })

class ProblemError extends Error {
  /** @param {Problem} problem */
  constructor(problem) {
    super(problem.detail ?? problem.title ?? 'Error')
    this.problem = problem
  }
}

/** A non-2xx answer as its problem document (or what can be made of it). @param {Response} res */
async function problemOf(res) {
  const text = await res.text().catch(() => '')
  try {
    const body = JSON.parse(text)
    if (body && typeof body === 'object' && (body.title || body.detail)) return /** @type {Problem} */ (body)
  } catch {}
  return { title: `${res.status} ${res.statusText}`.trim(), detail: text.slice(0, 500), status: res.status }
}

/** fetch with the key; throws a ProblemError on a non-2xx answer. @param {string} path @param {RequestInit} [init] */
async function api(path, init = {}) {
  let res
  try {
    res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(/** @type {Record<string, string>} */ (init.headers ?? {})) } })
  } catch (err) {
    throw new ProblemError({ title: 'Network error', detail: err instanceof Error ? err.message : String(err) })
  }
  if (!res.ok) throw new ProblemError(await problemOf(res))
  return res
}

// --- Status and errors -------------------------------------------------------------------------

/** @param {unknown} err */
function showProblem(err) {
  /** @type {Problem} */
  const p = err instanceof ProblemError ? err.problem : { title: 'Error', detail: err instanceof Error ? err.message : String(err) }
  $('problem-title').textContent = p.title ?? 'Error'
  $('problem-detail').textContent = [p.detail, p.code ? `(${p.code})` : ''].filter(Boolean).join(' ')
  $('problem').hidden = false
}
const clearProblem = () => {
  $('problem').hidden = true
}

const MiB = 1024 * 1024
/** @param {number} n */
function formatBytes(n) {
  if (n >= 1024 * MiB) return `${(n / 1024 / MiB).toFixed(n % (1024 * MiB) === 0 ? 0 : 1)} GiB`
  if (n >= MiB) return `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${n} B`
}
/** @param {number} s */
function formatDuration(s) {
  if (!Number.isFinite(s)) return '…'
  if (s < 60) return `${Math.ceil(s)} s`
  const m = Math.floor(s / 60)
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  node.append(...children)
  return node
}
/** @param {string} tag @param {Record<string, string | number>} [attrs] @param {(Node | string)[]} [children] */
function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  node.append(...children)
  return node
}

// --- Models ------------------------------------------------------------------------------------

async function loadModels() {
  clearProblem()
  generation++
  $('models-status').textContent = 'Loading models…'
  $('models').hidden = true
  showPanels(undefined)
  try {
    const body = await (await api('/models')).json()
    models = /** @type {Model[]} */ (body.models ?? [])
    renderModels()
    $('models-status').textContent = models.length === 0 ? 'No model is available to this key.' : `${models.length} model${models.length === 1 ? '' : 's'} available.`
  } catch (err) {
    models = []
    $('model-list').replaceChildren()
    $('models-status').textContent = 'Models could not be listed.'
    showProblem(err)
  }
}

function renderModels() {
  const items = models.map((m) => {
    const id = `model-${m.name}`
    const radio = el('input', { type: 'radio', name: 'model', id, value: m.name, 'aria-describedby': `${id}-info` })
    radio.addEventListener('change', () => selectModel(m.name))
    const info = el('dl', { id: `${id}-info` }, [
      el('dt', {}, ['Accepts']),
      el('dd', { class: 'types' }, [m.contentTypes.join(', ')]),
      el('dt', {}, ['Size limit']),
      el('dd', { class: 'max-bytes' }, [formatBytes(m.maxBytes)]),
    ])
    const mode = m.mode === 'async' ? 'asynchronous job' : m.streaming ? 'real-time, streaming' : 'real-time'
    return el('li', { 'data-model': m.name }, [
      el('label', { for: id }, [radio, m.name, el('span', { class: 'mode' }, [`(${mode})`])]),
      info,
      ...(m.description ? [el('p', { class: 'description' }, [m.description])] : []),
    ])
  })
  $('model-list').replaceChildren(...items)
  $('models').hidden = models.length === 0
}

/** @param {string} name */
function selectModel(name) {
  current = models.find((m) => m.name === name)
  generation++
  clearProblem()
  $('result-panel').hidden = true
  if (location.hash !== '') history.replaceState(null, '', location.pathname + location.search)
  showPanels(current)
}

/** @param {Model | undefined} m */
function showPanels(m) {
  $('async-panel').hidden = m?.mode !== 'async'
  $('realtime-panel').hidden = m?.mode !== 'realtime'
  if (m?.mode === 'async') {
    fileInput.accept = m.contentTypes.filter((t) => t !== '*/*').join(',')
    $('file-help').textContent = `${m.name} accepts ${m.contentTypes.join(', ')}, up to ${formatBytes(m.maxBytes)}.`
    uploadButton.disabled = !fileInput.files?.length || upload !== undefined
  }
}

// --- Async: upload with tus, then follow the job -----------------------------------------------

/** @param {File} file @param {Model} m */
function contentTypeFor(file, m) {
  if (file.type !== '') return file.type
  const concrete = m.contentTypes.filter((t) => !t.includes('*'))
  return concrete.length === 1 ? /** @type {string} */ (concrete[0]) : 'application/octet-stream'
}

async function startUpload() {
  const file = fileInput.files?.[0]
  const m = current
  if (file === undefined || m === undefined || upload !== undefined) return
  clearProblem()
  if (file.size > m.maxBytes) {
    showProblem(new ProblemError({ title: 'File too large', detail: `${file.name} is ${formatBytes(file.size)}; ${m.name} takes up to ${formatBytes(m.maxBytes)}.` }))
    return
  }
  const gen = ++generation
  /** @type {Record<string, string>} */
  const metadata = { model: m.name, filetype: contentTypeFor(file, m), filename: file.name }
  if (attributesInput.value.trim() !== '') metadata.customAttributes = attributesInput.value.trim()
  /** @type {string | undefined} */
  let jobLocation
  let started = performance.now()
  let startBytes = 0
  let resumedOnce = false
  $('result-panel').hidden = true
  progress.hidden = false
  progress.value = 0
  $('progress-text').textContent = 'Starting the upload…'

  const finish = () => {
    upload = undefined
    pauseButton.disabled = true
    resumeButton.disabled = true
    uploadButton.disabled = !fileInput.files?.length
  }

  const tusUpload = new tus.Upload(file, {
    endpoint: '/uploads',
    chunkSize: CHUNK_SIZE,
    retryDelays: [0, 1000, 3000, 5000],
    metadata,
    headers: authHeaders(),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    // The same file for another model is another upload.
    fingerprint: async (/** @type {File} */ f) => ['sagegate', m.name, f.name, f.type, f.size, f.lastModified].join('|'),
    onAfterResponse: (/** @type {any} */ _req, /** @type {any} */ res) => {
      const location = res.getHeader('Job-Location')
      if (location) jobLocation = location
    },
    onProgress: (/** @type {number} */ sent, /** @type {number} */ total) => {
      if (!resumedOnce) {
        resumedOnce = true
        started = performance.now()
        startBytes = sent
      }
      const pct = total > 0 ? (sent / total) * 100 : 0
      progress.value = pct
      const seconds = (performance.now() - started) / 1000
      const speed = seconds > 0.2 ? (sent - startBytes) / seconds : 0
      const left = speed > 0 ? (total - sent) / speed : Infinity
      $('progress-text').textContent = `${pct.toFixed(0)} % — ${formatBytes(sent)} of ${formatBytes(total)}` + (speed > 0 ? ` — ${formatBytes(speed)}/s, ${formatDuration(left)} left` : '')
    },
    onError: (/** @type {any} */ err) => {
      const res = err?.originalResponse
      const status = res ? res.getStatus() : 0
      // A lost connection or a server that failed for now (tus-js-client's retries used up): the
      // upload is kept, Resume continues it from what the server holds, and coming back online does so by itself.
      if (status === 0 || status >= 500 || status === 409 || status === 423) {
        pauseButton.disabled = true
        resumeButton.disabled = false
        const at = `${progress.value.toFixed(0)} %`
        if (navigator.onLine) $('progress-text').textContent = `The upload stopped at ${at}: press Resume to continue.`
        else {
          $('progress-text').textContent = `Offline at ${at}: the upload continues when the network is back.`
          window.addEventListener('online', () => {
            if (upload === tusUpload && !resumeButton.disabled) resumeButton.click()
          }, { once: true })
        }
        return
      }
      finish()
      progress.hidden = true
      $('progress-text').textContent = 'The upload failed.'
      if (res) {
        /** @type {Problem} */
        let p = { title: `${res.getStatus()} error`, detail: err.message }
        try {
          const body = JSON.parse(res.getBody())
          if (body && (body.title || body.detail)) p = body
        } catch {}
        showProblem(new ProblemError(p))
      } else showProblem(err)
    },
    onSuccess: () => {
      finish()
      progress.value = 100
      $('progress-text').textContent = `Uploaded ${file.name} (${formatBytes(file.size)}).`
      // Fallback: the upload URL is /uploads/{jobId}.
      const id = jobLocation?.split('/').pop() || String(tusUpload.url ?? '').split('/').pop()
      if (id) void followJob(id, gen)
    },
  })
  upload = tusUpload
  pauseButton.disabled = false
  resumeButton.disabled = true
  uploadButton.disabled = true
  const previous = await tusUpload.findPreviousUploads()
  if (previous.length > 0) {
    tusUpload.resumeFromPreviousUpload(previous[0])
    $('progress-text').textContent = 'Resuming an earlier upload of this file…'
  }
  tusUpload.start()
}

/**
 * Follows the job until it leaves in_progress (long-polls: the gateway answers as soon as the job
 * ends, or after 30 s with the current state), then shows its result. @param {string} id @param {number} gen
 */
async function followJob(id, gen) {
  // A reload (or a shared link) follows the same job again: #job=<id>.
  history.replaceState(null, '', `#job=${encodeURIComponent(id)}`)
  $('result-panel').hidden = false
  $('result').replaceChildren()
  $('job-status').textContent = `Job ${id}: in progress…`
  /** @type {Job} */
  let job
  try {
    for (let waited = false; ; waited = true) {
      // The first look answers at once (a finished job shows without delay); the next ones wait.
      job = await (await api(`/jobs/${encodeURIComponent(id)}${waited ? '?wait=30' : ''}`)).json()
      if (gen !== generation) return
      if (job.status !== 'in_progress') break
    }
    if (job.status !== 'completed') {
      $('job-status').textContent = `Job ${id}: ${job.status}.`
      showProblem(new ProblemError({ title: `The job ${job.status}`, detail: job.error?.message ?? '', code: job.error?.code ?? '' }))
      return
    }
    $('job-status').textContent = `Job ${id}: completed. Loading the result…`
    const res = await api(`/jobs/${encodeURIComponent(id)}/result`)
    if (gen !== generation) return
    await renderResponse(res, job.model)
    $('job-status').textContent = `Job ${id}: completed.`
  } catch (err) {
    if (gen === generation) showProblem(err)
  }
}

// --- Real-time ---------------------------------------------------------------------------------

/** @param {Model} m */
const acceptsJson = (m) => m.contentTypes.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*')

async function predict() {
  const m = current
  if (m === undefined || m.mode !== 'realtime') return
  clearProblem()
  const gen = ++generation
  const text = predictInput.value
  const json = acceptsJson(m)
  sendButton.disabled = true
  $('result-panel').hidden = false
  $('result').replaceChildren()
  $('job-status').textContent = `Calling ${m.name}…`
  try {
    const res = await api(`/models/${encodeURIComponent(m.name)}/predict`, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'text/plain; charset=utf-8' },
      body: json ? JSON.stringify({ inputs: text }) : text,
    })
    if (gen !== generation) return
    await renderResponse(res, m.name)
    $('job-status').textContent = `${m.name} answered.`
  } catch (err) {
    if (gen === generation) {
      $('job-status').textContent = `${m.name} did not answer.`
      showProblem(err)
    }
  } finally {
    sendButton.disabled = false
  }
}

// --- Results -----------------------------------------------------------------------------------

/** @param {Response} res @param {string} model */
async function renderResponse(res, model) {
  const type = (res.headers.get('content-type') ?? '').toLowerCase()
  const text = await res.text()
  /** @type {unknown} */
  let value = text
  try {
    if (type.includes('jsonlines') || type.includes('ndjson')) value = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l))
    else if (type.includes('json')) value = JSON.parse(text)
  } catch {}
  $('result').replaceChildren(...renderResult(value, model))
}

/** @param {unknown} value @param {string} model @returns {Node[]} */
function renderResult(value, model) {
  const v = /** @type {any} */ (value)
  if (v && typeof v === 'object' && Array.isArray(v.frames) && (model === 'video-frames' || Array.isArray(v.sceneChanges))) return renderFrames(v)
  if (Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x.summary_text === 'string')) {
    return [el('h3', {}, ['Summary']), ...v.map((x) => el('p', { class: 'summary' }, [x.summary_text]))]
  }
  return [el('pre', { class: 'json', tabindex: '0', 'aria-label': 'Answer' }, [typeof v === 'string' ? v : JSON.stringify(v, null, 2)])]
}

/**
 * video-frames: `{ fps, codec, durationSeconds, width, height, frameCount, frames: [{ index, timeSeconds,
 * meanLuminance, diffFromPrevious }], sceneChanges: [{ timeSeconds, score }], warnings }`.
 * @param {any} a @returns {Node[]}
 */
function renderFrames(a) {
  /** @type {Array<{ index: number, timeSeconds: number, meanLuminance: number, diffFromPrevious: number | null }>} */
  const frames = a.frames
  /** @type {Array<{ timeSeconds: number, score: number }>} */
  const cuts = a.sceneChanges ?? []
  const cutAt = new Map(cuts.map((c) => [c.timeSeconds, c.score]))
  const summary = el('p', {}, [
    `${a.frameCount ?? frames.length} frames at ${a.fps} fps from a ${a.width}×${a.height} ${a.codec ?? ''} video` +
      (a.durationSeconds != null ? ` of ${Number(a.durationSeconds).toFixed(1)} s` : '') +
      `; ${cuts.length} scene change${cuts.length === 1 ? '' : 's'}` +
      (cuts.length > 0 ? ` (at ${cuts.map((c) => `${c.timeSeconds} s`).join(', ')})` : '') + '.',
  ])
  const rows = frames.map((f) => {
    const score = cutAt.get(f.timeSeconds)
    return el('tr', score !== undefined ? { class: 'cut' } : {}, [
      el('td', {}, [String(f.index)]),
      el('td', {}, [f.timeSeconds.toFixed(2)]),
      el('td', {}, [f.meanLuminance.toFixed(1)]),
      el('td', {}, [f.diffFromPrevious == null ? '—' : f.diffFromPrevious.toFixed(1)]),
      el('td', {}, [score !== undefined ? `Yes (${score.toFixed(3)})` : '']),
    ])
  })
  const table = el('table', {}, [
    el('caption', { class: 'legend' }, ['Sampled frames; rows marked “Yes” start a new scene.']),
    el('thead', {}, [el('tr', {}, ['Frame', 'Time (s)', 'Mean luminance', 'Change from previous', 'Scene change'].map((h) => el('th', { scope: 'col' }, [h])))]),
    el('tbody', {}, rows),
  ])
  const warnings = Array.isArray(a.warnings) && a.warnings.length > 0 ? [el('p', { class: 'help' }, [`Decoder warnings: ${a.warnings.join('; ')}`])] : []
  return [el('h3', {}, ['Frames']), summary, luminanceChart(frames, cuts), ...warnings, el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Frames table' }, [table])]
}

/** Mean luminance (0–255) over time, scene changes as dashed vertical lines. @param {Array<{ timeSeconds: number, meanLuminance: number }>} frames @param {Array<{ timeSeconds: number }>} cuts */
function luminanceChart(frames, cuts) {
  const W = 600, H = 200, L = 40, R = 10, T = 12, B = 30
  const t0 = frames[0]?.timeSeconds ?? 0
  const t1 = Math.max(frames[frames.length - 1]?.timeSeconds ?? 1, t0 + 1e-9)
  const x = (/** @type {number} */ t) => L + ((t - t0) / (t1 - t0)) * (W - L - R)
  const y = (/** @type {number} */ l) => T + (1 - l / 255) * (H - T - B)
  const points = frames.map((f) => `${x(f.timeSeconds).toFixed(1)},${y(f.meanLuminance).toFixed(1)}`).join(' ')
  const desc = `Mean luminance of ${frames.length} frames from ${t0} s to ${t1} s` + (cuts.length > 0 ? `; scene changes at ${cuts.map((c) => `${c.timeSeconds} s`).join(', ')}.` : '.')
  return svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title chart-desc' }, [
    svg('title', { id: 'chart-title' }, ['Luminance chart']),
    svg('desc', { id: 'chart-desc' }, [desc]),
    svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }),
    svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }),
    svg('text', { x: L - 4, y: T + 4, 'text-anchor': 'end' }, ['255']),
    svg('text', { x: L - 4, y: H - B, 'text-anchor': 'end' }, ['0']),
    svg('text', { x: L, y: H - 8 }, [`${t0} s`]),
    svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end' }, [`${t1} s`]),
    ...cuts.map((c) => svg('line', { class: 'cut', x1: x(c.timeSeconds), y1: T, x2: x(c.timeSeconds), y2: H - B })),
    frames.length === 1 ? svg('circle', { cx: x(t0), cy: y(frames[0]?.meanLuminance ?? 0), r: 3, class: 'line' }) : svg('polyline', { class: 'line', points }),
  ])
}

// --- Wiring ------------------------------------------------------------------------------------

keyInput.value = apiKey()
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const key = keyInput.value.trim()
  if (key === '') sessionStorage.removeItem(KEY_STORAGE)
  else sessionStorage.setItem(KEY_STORAGE, key)
  void loadModels()
})
$('forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORAGE)
  keyInput.value = ''
  void loadModels()
})
fileInput.addEventListener('change', () => showPanels(current))
uploadButton.addEventListener('click', () => void startUpload())
pauseButton.addEventListener('click', () => {
  if (upload === undefined) return
  void upload.abort()
  pauseButton.disabled = true
  resumeButton.disabled = false
  $('progress-text').textContent = `Paused at ${progress.value.toFixed(0)} %.`
  resumeButton.focus()
})
resumeButton.addEventListener('click', () => {
  if (upload === undefined) return
  upload.start()
  pauseButton.disabled = false
  resumeButton.disabled = true
  $('progress-text').textContent = 'Resuming…'
  pauseButton.focus()
})
$('predict-form').addEventListener('submit', (e) => {
  e.preventDefault()
  void predict()
})
const drop = $('drop')
drop.addEventListener('dragover', (e) => {
  e.preventDefault()
  drop.classList.add('over')
})
drop.addEventListener('dragleave', () => drop.classList.remove('over'))
drop.addEventListener('drop', (e) => {
  e.preventDefault()
  drop.classList.remove('over')
  const files = e.dataTransfer?.files
  if (files && files.length > 0) {
    fileInput.files = files
    showPanels(current)
  }
})
if (tus === undefined || !tus.isSupported) $('file-help').textContent = 'This browser cannot upload resumably (tus-js-client did not load).'
const jobInHash = /^#job=([A-Za-z0-9._~-]+)$/.exec(location.hash)?.[1]
void loadModels().then(() => {
  if (jobInHash !== undefined) void followJob(jobInHash, generation)
})
