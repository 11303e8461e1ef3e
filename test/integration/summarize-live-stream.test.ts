// summarize-live streams for real: on a long text, the first line is sent when the first section is
// ranked, not when the whole summary is done (issue 8, item 5). Measured through the gateway's
// streaming route, the local runtime's InvokeEndpointWithResponseStream and the model host.
import { request } from 'node:http'
import t from 'tap'
import { localEndpoints, localModels } from '../../src/local/defaults.js'
import { generateText } from '../helpers/generate-text.js'
import { startTestStack } from '../helpers/stack.js'

interface Arrival {
  /** ms since the request was sent */
  atMs: number
  /** complete lines received so far, this chunk included */
  lines: number
}

/** POSTs `text` to the streaming route and records when each chunk arrives. */
function streamSummary(baseUrl: string, text: string): Promise<{ status: number; contentType: string; arrivals: Arrival[]; body: string; totalMs: number }> {
  const url = new URL(`${baseUrl}/models/summarize-live/predict?stream=true`)
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = request(url, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
      const arrivals: Arrival[] = []
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
        arrivals.push({ atMs: performance.now() - started, lines: body.split('\n').length - 1 })
      })
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', arrivals, body, totalMs: performance.now() - started }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(text)
  })
}

t.test('a 400 KB text: the first line arrives while most of the summary is still being computed', async (t) => {
  const it = await startTestStack(t, {
    endpoints: localEndpoints.filter((e) => e.name === 'summarize-live'),
    models: { 'summarize-live': localModels['summarize-live'] },
  })
  const text = generateText(400 * 1024, { seed: 7 })
  // The first call also pays for loading and compiling (cold); the second is what a running service sees.
  for (const run of ['cold', 'warm']) {
    const { status, contentType, arrivals, body, totalMs } = await streamSummary(it.baseUrl, text)
    t.equal(status, 200)
    t.equal(contentType, 'application/jsonlines')
    const lines = body.trim().split('\n').map((line) => JSON.parse(line) as { summary_text: string })
    t.equal(lines.length, 10, 'the default length for a long text: 10 sentences')
    let from = 0
    for (const { summary_text } of lines) {
      const at = text.indexOf(summary_text, from)
      t.ok(at >= 0, 'extractive, in text order')
      from = at + summary_text.length
    }
    // Measured in events, not milliseconds (a slow machine stretches both): the first line comes in a
    // chunk of its own, and most of the summary arrives in later chunks, each section's when it is ranked.
    const first = arrivals.findIndex((a) => a.lines >= 1)
    t.ok(first >= 0)
    t.ok(arrivals[first]!.lines <= lines.length / 2, `${run}: at most half the lines with the first one (${arrivals[first]!.lines})`)
    t.ok(arrivals.length - first - 1 >= 3, `${run}: at least 3 more chunks after the first line (${arrivals.length - first - 1})`)
    t.comment(`${run}: first line after ${arrivals[first]!.atMs.toFixed(0)} ms, whole answer after ${totalMs.toFixed(0)} ms (${arrivals.length} chunks)`)
  }
})
