// The summarize-live container: summarize with SUMMARIZE_STREAM=true in its environment.
import t from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { SOLAR_TEXT } from '../../handlers/summarize/invoke-summarize.js'
import { post, streamPost } from './fixtures.js'

const TEXT = [...SOLAR_TEXT, 'Wind turbines also produce electricity for homes near the coast.'].join(' ')

t.test('summarize streams JSON lines sentence by sentence over chunked HTTP', async (t) => {
  const host = await startModelHost({
    containers: [
      { name: 'live', handler: 'summarize', env: { SUMMARIZE_STREAM: 'true' } },
      { name: 'whole', handler: 'summarize' },
    ],
  })
  t.teardown(() => host.close())
  await host.ready
  const [live, whole] = host.containers.map((c) => `${c.url}/invocations`)
  const body = JSON.stringify({ inputs: TEXT, parameters: { max_sentences: 4 } })
  const headers = { 'Content-Type': 'application/json' }

  let linesBeforeEnd = 0
  const response = await streamPost(live!, body, headers, (chunk) => {
    if (chunk.toString().includes('\n')) linesBeforeEnd++
  })
  t.equal(response.status, 200)
  t.equal(response.headers['content-type'], 'application/jsonlines')
  t.equal(response.headers['transfer-encoding'], 'chunked')
  t.notOk(response.headers['content-length'])
  t.ok(response.complete)
  t.ok(response.chunks.length >= 2, `the lines arrived in several pieces (${response.chunks.length} 'data' events)`)
  t.ok(linesBeforeEnd >= 2, 'more than one piece carried a finished line')
  const text = Buffer.concat(response.chunks).toString('utf8')
  t.ok(text.endsWith('\n'))
  const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as { summary_text: string })
  t.equal(lines.length, 4)

  const buffered = await post(whole!, body, headers)
  t.equal(buffered.headers['content-length'], String(Buffer.byteLength(buffered.body)), 'without the env: whole, with a Content-Length')
  const [summary] = JSON.parse(buffered.body) as Array<{ summary_text: string }>
  t.equal(lines.map((line) => line.summary_text).join(' '), summary!.summary_text)
})
