import { CopyObjectCommand } from '@aws-sdk/client-s3'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import t from 'tap'
import { startTestStack } from '../helpers/stack.js'

const post = (url: string, body: string | Buffer, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers })

t.test('echo: binary, Triton binary+json and KServe v2 bodies come back byte for byte', async (t) => {
  const it = await startTestStack(t)
  const header = JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] })
  const triton = Buffer.concat([Buffer.from(header), randomBytes(16)])
  const cases: Array<[string, Buffer]> = [
    ['application/octet-stream', randomBytes(100_000)],
    [`application/vnd.sagemaker-triton.binary+json;json-header-size=${Buffer.byteLength(header)}`, triton],
    ['application/json', Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'INT32', data: [1, 2] }] }))],
  ]
  for (const [type, body] of cases) {
    const res = await post(`${it.baseUrl}/models/echo/predict`, body, { 'content-type': type })
    t.equal(res.status, 200, type)
    t.equal(res.headers.get('content-type'), type)
    t.same(Buffer.from(await res.arrayBuffer()), body, `${type}: byte-exact`)
    t.equal(res.headers.get('x-invoked-variant'), 'AllTraffic')
    // Large answers are forwarded as they arrive, with the model's length.
    t.equal(res.headers.get('content-length'), String(body.length), `${type}: Content-Length`)
  }
})

t.test('sentiment and language-id answer; the model rejecting bad JSON is a 422', async (t) => {
  const it = await startTestStack(t)
  const json = { 'content-type': 'application/json' }
  const happy = await post(`${it.baseUrl}/models/sentiment/predict`, JSON.stringify({ inputs: 'I really love this wonderful product' }), json)
  t.equal(happy.status, 200)
  t.match(await happy.json(), [{ label: 'POSITIVE' }])
  const lang = await post(`${it.baseUrl}/models/language-id/predict`, JSON.stringify({ inputs: 'Je voudrais un café et un croissant, s’il vous plaît.' }), json)
  t.equal(lang.status, 200)
  t.match(await lang.json(), [{ language: 'fr' }])
  const bad = await post(`${it.baseUrl}/models/sentiment/predict`, '{not json', json)
  t.equal(bad.status, 422)
  t.match(await bad.json(), { code: 'model_rejected_input', modelStatus: 400 })
})

t.test('a new artifact under the prefix becomes routable without a restart', async (t) => {
  const it = await startTestStack(t)
  t.equal((await post(`${it.baseUrl}/models/echo-two/predict`, 'x', { 'content-type': 'text/plain' })).status, 404)
  await it.s3.send(
    new CopyObjectCommand({ Bucket: it.bucket, CopySource: `${it.bucket}/models/mme-realtime/echo.tar.gz`, Key: 'models/mme-realtime/echo-two.tar.gz' }),
  )
  // The registry looks again at most every few seconds; poll, bounded.
  const deadline = Date.now() + 60_000
  let status = 0
  while (Date.now() < deadline) {
    const res = await post(`${it.baseUrl}/models/echo-two/predict`, 'hello', { 'content-type': 'text/plain' })
    status = res.status
    if (status === 200) {
      t.equal(await res.text(), 'hello')
      break
    }
    await new Promise((r) => setTimeout(r, 500))
  }
  t.equal(status, 200)
  const listed = (await (await fetch(`${it.baseUrl}/models`)).json()) as { models: Array<{ name: string; discovered?: boolean }> }
  t.ok(listed.models.some((m) => m.name === 'echo-two' && m.discovered === true))
})

t.test('streaming delivers the summary in several chunks as JSON lines', async (t) => {
  const it = await startTestStack(t)
  const text = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} talks about topic ${i % 5} and the city budget for buses.`).join(' ')
  const url = new URL(`${it.baseUrl}/models/summarize-live/predict?stream=true`)
  const chunks = await new Promise<Buffer[]>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
      t.equal(res.statusCode, 200)
      t.equal(res.headers['content-type'], 'application/jsonlines')
      t.equal(res.headers['transfer-encoding'], 'chunked')
      const got: Buffer[] = []
      res.on('data', (c: Buffer) => got.push(c))
      res.on('end', () => resolve(got))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(text)
  })
  t.ok(chunks.length >= 2, `several chunks (${chunks.length})`)
  const lines = Buffer.concat(chunks).toString().trim().split('\n')
  t.ok(lines.length >= 2)
  for (const line of lines) t.match(JSON.parse(line), { summary_text: String })
})

t.test('limits and unknown names', async (t) => {
  const it = await startTestStack(t)
  const big = await post(`${it.baseUrl}/models/echo/predict`, Buffer.alloc(6 * 1024 * 1024 + 1), { 'content-type': 'text/plain' })
  t.equal(big.status, 413)
  t.match(await big.json(), { code: 'payload_too_large', detail: /Send larger inputs as an async job: POST \/models\/summarize\/jobs\.$/ })
  t.equal((await post(`${it.baseUrl}/models/nope/predict`, 'x', { 'content-type': 'text/plain' })).status, 404)
})

interface MmeStats {
  multiModel: { loads: number; unloads: number; coldStarts: number; loaded: string[] }
}
const mmeStats = async (it: { stack: { sagemaker: { endpoint: string } } }) =>
  (await (await fetch(`${it.stack.sagemaker.endpoint}/_local/endpoints/mme-realtime/stats`)).json()) as MmeStats

t.test('the first call of a model loads it (cold), the next is warm', async (t) => {
  const it = await startTestStack(t)
  const call = () => post(`${it.baseUrl}/models/language-id/predict`, JSON.stringify({ inputs: 'Das ist ein schönes Haus mit einem großen Garten.' }), { 'content-type': 'application/json' })
  t.equal((await call()).status, 200)
  const afterCold = await mmeStats(it)
  t.equal(afterCold.multiModel.loads, 1)
  t.same(afterCold.multiModel.loaded, ['language-id.tar.gz'])
  t.equal((await call()).status, 200)
  t.equal((await mmeStats(it)).multiModel.loads, 1, 'the warm call loads nothing')
})

t.test('beyond its capacity the endpoint unloads the least recently used model', async (t) => {
  const it = await startTestStack(t, {
    endpoints: [{ name: 'mme-realtime', mode: 'realtime', multiModel: { prefix: 'models/mme-realtime/', maxLoadedModels: 2, artifacts: ['echo', 'sentiment', 'language-id'] } }],
    models: {},
    multiModelEndpoints: { 'mme-realtime': { modelDataUrl: 's3://sagegate-local/models/mme-realtime/' } },
  })
  const json = { 'content-type': 'application/json' }
  t.equal((await post(`${it.baseUrl}/models/echo/predict`, '{}', json)).status, 200)
  t.equal((await post(`${it.baseUrl}/models/sentiment/predict`, JSON.stringify({ inputs: 'good' }), json)).status, 200)
  t.equal((await post(`${it.baseUrl}/models/language-id/predict`, JSON.stringify({ inputs: 'the cat sat on the mat today' }), json)).status, 200)
  const stats = await mmeStats(it)
  t.equal(stats.multiModel.unloads, 1)
  t.same(stats.multiModel.loaded, ['sentiment.tar.gz', 'language-id.tar.gz'], 'echo, the least recently used, was unloaded')
  t.equal((await post(`${it.baseUrl}/models/echo/predict`, 'again', { 'content-type': 'text/plain' })).status, 200, 'and loads again on demand')
})

t.test('summarize-live without ?stream=true answers the same lines in one body', async (t) => {
  const it = await startTestStack(t)
  const text = 'The council approved the budget. It adds forty electric buses. Residents asked for bike lanes. Night service starts in June.'
  const res = await post(`${it.baseUrl}/models/summarize-live/predict`, text, { 'content-type': 'text/plain' })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'application/jsonlines')
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { summary_text: string })
  t.ok(lines.length >= 1)
  for (const l of lines) t.ok(text.includes(l.summary_text))
})

t.test("multi-model artifacts declare their content types: GET /models shows them and the gateway holds to them", async (t) => {
  const it = await startTestStack(t)
  const listed = (await (await fetch(`${it.baseUrl}/models`)).json()) as { models: Array<{ name: string; contentTypes: string[]; description?: string }> }
  const byName = new Map(listed.models.map((m) => [m.name, m]))
  t.same(byName.get('sentiment')?.contentTypes, ['text/plain', 'application/json'])
  t.same(byName.get('language-id')?.contentTypes, ['text/plain', 'application/json'])
  t.same(byName.get('echo')?.contentTypes, ['*/*'])
  t.match(byName.get('language-id')?.description, /language identification/)
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')
  const refused = await post(`${it.baseUrl}/models/sentiment/predict`, png, { 'content-type': 'image/png' })
  t.equal(refused.status, 415, 'refused by the gateway, not sent to the model')
  t.match(await refused.json(), { code: 'unsupported_media_type', accepted: ['text/plain', 'application/json'] })
  const echoed = await fetch(`${it.baseUrl}/models/echo/predict`, { method: 'POST', body: new Uint8Array([1, 2, 3]) })
  t.equal(echoed.status, 200, 'a */* model takes a body without a type')
})
