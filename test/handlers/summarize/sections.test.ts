import t from 'tap'
import { readChunks, runSummarize } from './invoke-summarize.js'
import { makeContext } from '../invocation-fixtures.js'
import { MIN_SECTION_SENTENCES, planSections, summarizeSections } from '../../../handlers/summarize/sections.js'

t.test('planSections: contiguous sections of at least MIN_SECTION_SENTENCES, the budget shared out', async (t) => {
  t.same(planSections(0, 3), [])
  t.same(planSections(10, 0), [])
  t.same(planSections(2 * MIN_SECTION_SENTENCES - 1, 5), [{ start: 0, end: 2 * MIN_SECTION_SENTENCES - 1, count: 5 }], 'a short text is one section')
  for (const [n, count] of [[4302, 10], [4302, 500], [1000, 3], [100_000, 10], [650, 7]] as const) {
    const plan = planSections(n, count)
    t.equal(plan[0]!.start, 0)
    t.equal(plan.at(-1)!.end, n)
    plan.slice(1).forEach((section, i) => t.equal(section.start, plan[i]!.end, 'contiguous'))
    t.ok(plan.every((s) => s.end - s.start >= MIN_SECTION_SENTENCES), `${n}/${count}: sections are large enough`)
    t.ok(plan.every((s) => s.count >= 1), `${n}/${count}: every section sends a line`)
    t.equal(plan.reduce((sum, s) => sum + s.count, 0), count, `${n}/${count}: the whole budget`)
    if (plan.length >= 3) t.ok(plan[0]!.end - plan[0]!.start < plan[1]!.end - plan[1]!.start, `${n}/${count}: a smaller first section`)
  }
})

t.test('summarizeSections: the first yield holds the first section’s line, the rest follow', async (t) => {
  const sentences = Array.from({ length: 3 * MIN_SECTION_SENTENCES }, (_, i) => `Topic ${i % 7} sentence about item ${i} here.`)
  const iterator = summarizeSections(sentences, planSections(sentences.length, 3), new AbortController().signal)
  const first = await iterator.next()
  t.equal(first.value!.length, 1)
  t.ok(sentences.indexOf(first.value![0]!) < MIN_SECTION_SENTENCES, 'from the first section')
  const rest = []
  for await (const chosen of { [Symbol.asyncIterator]: () => iterator }) rest.push(...chosen)
  t.equal(rest.length, 2)
})

t.test('a sentence repeated in a later section is not sent twice', async (t) => {
  const repeated = 'The budget for buses grew again this year.'
  const sentences = Array.from({ length: 2 * MIN_SECTION_SENTENCES }, () => repeated)
  sentences[MIN_SECTION_SENTENCES + 5] = 'A different sentence about the night trains.'
  const lines = []
  for await (const chosen of summarizeSections(sentences, planSections(sentences.length, 2), new AbortController().signal)) lines.push(...chosen)
  t.same(lines, [repeated, 'A different sentence about the night trains.'])
})

t.test('the streamed answer of a long text has as many lines as the whole one, in text order', async (t) => {
  const text = Array.from({ length: 5 * MIN_SECTION_SENTENCES }, (_, i) => `Sentence ${i} is about topic ${i % 11} and budget ${i % 3}.`).join(' ')
  const chunks = await readChunks(await runSummarize(t.testdir(), text, 'text/plain', makeContext(), { SUMMARIZE_STREAM: 'true' }))
  t.equal(chunks.length, 10)
  let from = 0
  for (const chunk of chunks) {
    const { summary_text } = JSON.parse(chunk) as { summary_text: string }
    const at = text.indexOf(summary_text, from)
    t.ok(at >= 0, 'in text order')
    from = at + summary_text.length
  }
})
