import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { makeTestVideo } from '../../helpers/make-video.js'
import { post, writeFixtureHandlers } from './fixtures.js'

const dir = t.testdir()
let video = Buffer.alloc(0)
t.before(async () => {
  await makeTestVideo(join(dir, 'clip.mp4'))
  video = await readFile(join(dir, 'clip.mp4'))
})

async function startHost(t: Test) {
  const handlersDir = await writeFixtureHandlers(t.testdir())
  const real = await startModelHost({
    containers: [
      { name: 'video', handler: 'video-frames' },
      { name: 'text', handler: 'summarize' },
    ],
  })
  const fixtures = await startModelHost({
    handlersDir,
    containers: [
      { name: 'crash', handler: 'crash' },
      { name: 'teapot', handler: 'teapot' },
    ],
  })
  t.teardown(() => Promise.all([real.close(), fixtures.close()]))
  await Promise.all([real.ready, fixtures.ready])
  const urls = Object.fromEntries([...real.containers, ...fixtures.containers].map((c) => [c.name, c.url]))
  return (name: string) => `${urls[name]}/invocations`
}

t.test('video-frames through /invocations, with Content-Length and custom attributes', async (t) => {
  const url = await startHost(t)
  const response = await post(url('video'), video, {
    'Content-Type': 'video/mp4',
    Accept: 'application/json',
    'X-Amzn-SageMaker-Custom-Attributes': 'fps=2; other=ignored',
    'X-Amzn-SageMaker-Inference-Id': 'job-123',
  })
  t.equal(response.status, 200)
  t.equal(response.headers['content-type'], 'application/json')
  t.equal(response.headers['content-length'], String(Buffer.byteLength(response.body)))
  t.notOk(response.headers['transfer-encoding'], 'not chunked')
  const result = JSON.parse(response.body)
  t.equal(result.frameCount, 6)
  t.same(result.sceneChanges.map((s: { timeSeconds: number }) => s.timeSeconds), [2])
})

t.test('summarize through /invocations with a JSON body', async (t) => {
  const url = await startHost(t)
  const inputs = 'Cats sleep a lot. Cats sleep in the sun. Dogs bark. Cats and dogs sleep at night.'
  const response = await post(url('text'), JSON.stringify({ inputs, parameters: { max_sentences: 1 } }), {
    'Content-Type': 'application/json',
  })
  t.equal(response.status, 200)
  t.equal(response.headers['content-length'], String(Buffer.byteLength(response.body)))
  const [result] = JSON.parse(response.body) as Array<{ summary_text: string }>
  t.ok(result && inputs.includes(result.summary_text), 'one sentence of the input')
  t.equal(result?.summary_text.split('. ').length, 1)
})

t.test('a HandlerError keeps its status and message as {"error"}', async (t) => {
  const url = await startHost(t)
  const badJson = await post(url('text'), '{"inputs": ', { 'Content-Type': 'application/json' })
  t.equal(badJson.status, 400)
  t.equal(badJson.headers['content-type'], 'application/json')
  t.match(JSON.parse(badJson.body), { error: /^invalid JSON body/ })
  const badFps = await post(url('video'), video, {
    'Content-Type': 'video/mp4',
    'X-Amzn-SageMaker-Custom-Attributes': 'fps=100',
  })
  t.equal(badFps.status, 400)
  t.match(JSON.parse(badFps.body), { error: /fps must be a number from 0.1 to 30/ })
  const teapot = await post(url('teapot'), 'x', { 'Content-Type': 'text/plain' })
  t.equal(teapot.status, 422, 'a HandlerError from another copy of the module is recognised')
  t.same(JSON.parse(teapot.body), { error: 'the teapot refuses this input' })
})

t.test('an Accept the handler cannot produce is a 406; */* and none fall back to JSON', async (t) => {
  const url = await startHost(t)
  const refused = await post(url('text'), 'Some text.', { 'Content-Type': 'text/plain', Accept: 'text/csv' })
  t.equal(refused.status, 406)
  t.match(JSON.parse(refused.body), { error: /cannot produce text\/csv/ })
  for (const accept of ['*/*', undefined]) {
    const response = await post(url('text'), 'Some text.', { 'Content-Type': 'text/plain', ...(accept ? { Accept: accept } : {}) })
    t.equal(response.status, 200, `Accept ${accept}`)
    t.equal(response.headers['content-type'], 'application/json')
  }
})

t.test('any other error is a 500 that does not leak its detail', async (t) => {
  const url = await startHost(t)
  const response = await post(url('crash'), 'x', { 'Content-Type': 'text/plain' })
  t.equal(response.status, 500)
  t.same(JSON.parse(response.body), { error: 'internal error' })
})

t.test('a declared body over maxBodyBytes is a 413 before it is read', async (t) => {
  const host = await startModelHost({ maxBodyBytes: 10, containers: [{ name: 'text', handler: 'summarize' }] })
  t.teardown(() => host.close())
  await host.ready
  const response = await post(`${host.containers[0]!.url}/invocations`, 'This text is longer than ten bytes.', {
    'Content-Type': 'text/plain',
  })
  t.equal(response.status, 413)
  t.match(JSON.parse(response.body), { error: /over the limit of 10 bytes/ })
})

t.test('a chunked body that crosses maxBodyBytes is a 413', async (t) => {
  const host = await startModelHost({ maxBodyBytes: 10, containers: [{ name: 'text', handler: 'summarize' }] })
  t.teardown(() => host.close())
  await host.ready
  const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${host.containers[0]!.url}/invocations`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' },
    })
    req.on('error', reject)
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.write('This text is longer ')
    req.write('than ten bytes.')
  })
  t.equal(response.status, 413)
  t.match(JSON.parse(response.body), { error: /over the limit of 10 bytes/ })
})
