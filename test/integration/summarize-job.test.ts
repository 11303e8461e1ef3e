import t from 'tap'
import { startTestStack, waitForJob } from '../helpers/stack.js'

const article = [
  'The city council approved a new budget for public transport on Monday.',
  'The budget adds forty electric buses and extends night service on six routes.',
  'Council members said the plan would cut emissions and shorten commutes.',
  'Some residents asked for more cycling lanes instead.',
  'The first new buses will arrive in the spring, and night service starts in June.',
  'Transport officials expect ridership to grow by ten percent over two years.',
].join(' ')

t.test('a text becomes a summary, as text/plain and as Hugging Face JSON', async (t) => {
  const it = await startTestStack(t)
  for (const [contentType, body] of [
    ['text/plain; charset=utf-8', article],
    ['application/json', JSON.stringify({ inputs: article, parameters: { max_sentences: 2 } })],
  ] as const) {
    const res = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body })
    t.equal(res.status, 202, contentType)
    const { id } = (await res.json()) as { id: string }
    const done = await waitForJob(it.baseUrl, id)
    t.equal(done.status, 'completed', JSON.stringify(done.error))
    const summary = (await (await fetch(`${it.baseUrl}/jobs/${id}/result`)).json()) as Array<{ summary_text: string }>
    t.equal(summary.length, 1)
    t.ok(summary[0]!.summary_text.length > 0 && summary[0]!.summary_text.length < article.length, 'shorter than the article')
    for (const sentence of summary[0]!.summary_text.split(/(?<=\.)\s+/)) t.ok(article.includes(sentence), 'extractive: sentences come from the text')
  }
})
