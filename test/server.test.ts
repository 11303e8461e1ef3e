import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { listeningLine, spawnServer } from './helpers/server-process.js'
import { eventually } from './helpers/upload-client.js'

t.test('npm start: the gateway on the local stack, local.json, clean shutdown', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-start-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const child = spawnServer({ SAGEGATE_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' })
  t.teardown(() => void child.kill('SIGKILL'))
  // Every line of its log, the banner's reader notwithstanding.
  let log = ''
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()))
  const banner = await listeningLine(child)
  const url = banner?.url
  t.ok(url, 'printed its URL')
  t.match(banner?.line, {
    gateway: url,
    docs: `${url}/docs`,
    models: ['echo (realtime)', 'language-id (realtime)', 'sentiment (realtime)', 'summarize (async)', 'summarize-live (realtime)', 'video-frames (async)'],
    localJson: join(dataDir, 'local.json'),
  }, 'the banner: URL, docs, every routable model, local.json')
  // No keys: open mode, said at start as a warning.
  await eventually('the open-mode warning', () => /no API keys configured/.test(log))
  const warning = JSON.parse(log.split('\n').find((l) => l.includes('no API keys configured'))!) as Record<string, unknown>
  t.match(warning, { level: 40, msg: /open to anyone who can reach it/ }, 'open mode: a warning at start')
  t.notMatch(log, /API keys required/)
  t.equal((await fetch(`${url}/docs/`)).status, 200, 'the docs URL answers')
  t.same(await (await fetch(`${url}/readyz`)).json(), { status: 'ready', checks: { storage: 'ok', runtime: 'ok' } })
  const models = (await (await fetch(`${url}/models`)).json()) as { models: Array<{ name: string }> }
  t.same(models.models.map((m) => m.name), ['echo', 'language-id', 'sentiment', 'summarize', 'summarize-live', 'video-frames'])

  const local = JSON.parse(await readFile(join(dataDir, 'local.json'), 'utf8'))
  t.same(Object.keys(local).sort(), ['credentials', 'region', 's3', 'sagemaker'])
  t.same(Object.keys(local.credentials).sort(), ['accessKeyId', 'secretAccessKey'])
  t.same(Object.keys(local.s3).sort(), ['bucket', 'endpoint'])
  t.same(Object.keys(local.sagemaker).sort(), ['endpoint', 'endpoints'])
  t.same(local.sagemaker.endpoints, [
    { name: 'video-frames-async', mode: 'async' },
    { name: 'summarize-async', mode: 'async' },
    { name: 'mme-realtime', mode: 'realtime', modelDataUrl: 's3://sagegate-local/models/mme-realtime/' },
    { name: 'summarize-live', mode: 'realtime' },
  ])
  const ping = await fetch(`${local.sagemaker.endpoint}/ping`)
  t.equal(ping.status, 200, 'the runtime URL in local.json answers')

  child.kill('SIGTERM')
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 0, 'exits cleanly on SIGTERM')
  await t.rejects(fetch(`${local.s3.endpoint}/`), 'the local S3 process is gone too')
})

t.test('a bad configuration names every bad key and exits 2', async (t) => {
  const child = spawnServer({ PORT: 'x', SAGEGATE_UPLOAD_QUEUE_SIZE: '99', LOG_LEVEL: 'loud' })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  t.equal(code, 2)
  for (const key of ['PORT', 'SAGEGATE_UPLOAD_QUEUE_SIZE', 'LOG_LEVEL']) t.match(stderr, key)
})
