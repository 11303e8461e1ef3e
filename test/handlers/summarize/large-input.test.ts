import t from 'tap'
import { MAX_SUMMARY_SENTENCES } from '../../../handlers/summarize/index.js'
import { MAX_SENTENCE_CHARS } from '../../../handlers/summarize/sentences.js'
import { generateText, WORDS } from '../../helpers/generate-text.js'
import { invokeSummarize } from './invoke-summarize.js'

const TEN_MIB = 10 * 1024 * 1024
const text = generateText(TEN_MIB, { seed: 42, words: WORDS.slice(0, 27) })

t.test('a ~10 MiB text completes with a bounded summary', async (t) => {
  const output = await invokeSummarize(t.testdir(), text, 'text/plain')
  const [result] = JSON.parse(String(output.body)) as Array<{ summary_text: string }>
  const sentences = result!.summary_text.split('. ')
  t.equal(sentences.length, 10, 'the default is capped at 10 sentences')
  t.ok(result!.summary_text.length <= 10 * MAX_SENTENCE_CHARS)
})

t.test('ratio=1 on ~10 MiB is capped at MAX_SUMMARY_SENTENCES', async (t) => {
  const body = JSON.stringify({ inputs: text, parameters: { ratio: 1 } })
  const output = await invokeSummarize(t.testdir(), body, 'application/json')
  const [result] = JSON.parse(String(output.body)) as Array<{ summary_text: string }>
  t.equal(result!.summary_text.split('. ').length, MAX_SUMMARY_SENTENCES)
})
