import t from 'tap'
import { mulberry32 } from '../helpers/generate-text.js'
import { eventually, openUpload } from '../helpers/upload-client.js'
import { MiB, settlesToNothing, startFaultStack } from './helpers.js'

const metrics = async (baseUrl: string) => (await fetch(`${baseUrl}/metrics`)).text()

t.test('clients that vanish at random points cost nothing and are not errors', async (t) => {
  const it = await startFaultStack(t)
  const next = mulberry32(42)
  const cuts = Array.from({ length: 8 }, () => Math.floor(next() * 9.5 * MiB))
  for (const cut of cuts) {
    const up = openUpload(`${it.baseUrl}/models/summarize/jobs`, { 'content-type': 'text/plain', 'content-length': String(10 * MiB) })
    await up.write(cut)
    // Let the gateway take what was sent (and start its multipart upload when there is enough).
    await new Promise((r) => setTimeout(r, 50))
    up.destroy()
  }
  await settlesToNothing(t, it, [], `after cuts at ${cuts.join(', ')}`)
  await eventually('every disconnect was counted', async () => /sagegate_client_disconnects_total\{route="\/models\/:name\/jobs"\} [1-9]/.test(await metrics(it.baseUrl)))
  const text = await metrics(it.baseUrl)
  t.notMatch(text, /sagegate_problems_total\{code="internal_error"\}/, 'no disconnect surfaced as an internal error')
  t.notMatch(text, /sagegate_problems_total\{code="client_closed_request"\}/, 'a disconnect is not a problem answered')
  t.equal((await fetch(`${it.baseUrl}/readyz`)).status, 200)
})

t.test('a client that vanishes while its real-time call runs is not an error', async (t) => {
  const it = await startFaultStack(t)
  const text = 'A sentence about trains. '.repeat(20_000)
  const controller = new AbortController()
  const call = fetch(`${it.baseUrl}/models/summarize-live/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: text, signal: controller.signal })
  setTimeout(() => controller.abort(), 20)
  await t.rejects(call)
  await eventually('the disconnect was counted', async () => /sagegate_client_disconnects_total\{route="\/models\/:name\/predict"\} 1/.test(await metrics(it.baseUrl)))
  t.notMatch(await metrics(it.baseUrl), /code="internal_error"/)
})
