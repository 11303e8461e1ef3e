import t from 'tap'
import { MAX_SUMMARY_SENTENCES } from '../../../handlers/summarize/index.js'
import { MAX_SENTENCE_CHARS } from '../../../handlers/summarize/sentences.js'
import { invokeSummarize } from './invoke-summarize.js'

const WORDS = (
  'river mountain ocean forest city village market harbor engine signal network model data storm ' +
  'bridge tower garden station library museum school hospital factory farm desert island valley'
).split(' ')

/** Deterministic pseudo-random sentences (mulberry32), about `bytes` long. */
function generateText(bytes: number): string {
  let state = 42
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const parts: string[] = []
  let size = 0
  while (size < bytes) {
    const words = Array.from({ length: 6 + Math.floor(random() * 14) }, () => WORDS[Math.floor(random() * WORDS.length)])
    const sentence = `The ${words.join(' ')}. `
    parts.push(sentence)
    size += sentence.length
  }
  return parts.join('')
}

const TEN_MIB = 10 * 1024 * 1024
const text = generateText(TEN_MIB)

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
