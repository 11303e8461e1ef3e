import t, { type Test } from 'tap'
import { makeContext } from '../invocation-fixtures.js'
import { invokeSummarize, SOLAR_TEXT } from './invoke-summarize.js'

const TEXT = SOLAR_TEXT.join(' ')

async function summarize(t: Test, body: string, contentType: string, customAttributes = {}): Promise<string> {
  const output = await invokeSummarize(t.testdir(), body, contentType, makeContext({ customAttributes }))
  t.equal(output.contentType, 'application/json')
  const parsed = JSON.parse(String(output.body)) as Array<{ summary_text: string }>
  t.equal(parsed.length, 1)
  return parsed[0]!.summary_text
}

t.test('text/plain: picks the three central sentences, in their original order', async (t) => {
  t.equal(
    await summarize(t, TEXT, 'text/plain; charset=utf-8'),
    'Solar panels convert sunlight into electricity for homes. ' +
      'Many homes now install solar panels on their roofs to produce electricity. ' +
      'The price of solar electricity keeps falling as solar panels become cheaper.',
  )
})

t.test('application/json {"inputs"} gives the same summary', async (t) => {
  const plain = await summarize(t, TEXT, 'text/plain')
  t.equal(await summarize(t, JSON.stringify({ inputs: TEXT }), 'application/json'), plain)
})

t.test('parameters.max_sentences and parameters.ratio set the length', async (t) => {
  const one = await summarize(t, JSON.stringify({ inputs: TEXT, parameters: { max_sentences: 1 } }), 'application/json')
  t.match(one, /^[^.]*solar[^.]*\.$/i)
  const half = await summarize(t, JSON.stringify({ inputs: TEXT, parameters: { ratio: 0.5 } }), 'application/json')
  t.equal(half.split('. ').length, 3)
  const capped = JSON.stringify({ inputs: TEXT, parameters: { ratio: 1, max_sentences: 2 } })
  t.equal((await summarize(t, capped, 'application/json')).split('. ').length, 2)
})

t.test('text/plain takes max_sentences from the custom attributes', async (t) => {
  const summary = await summarize(t, TEXT, 'text/plain', { max_sentences: '2' })
  t.equal(summary.split('. ').length, 2)
})

t.test('a short text is returned whole, and repeated sentences only once', async (t) => {
  t.equal(await summarize(t, 'Only one sentence here.', 'text/plain'), 'Only one sentence here.')
  t.equal(await summarize(t, 'Same thing. Same thing. Same thing. Different topic entirely.', 'text/plain'), 'Same thing. Different topic entirely.')
})

t.test('invalid requests are 400s with a useful message', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['{"inputs": "unterminated', 'application/json', /invalid JSON body/],
    ['{"text": "no inputs"}', 'application/json', /no "inputs"/],
    ['["a list"]', 'application/json', /must be an object/],
    ['{"inputs": 42}', 'application/json', /"inputs" must be a string/],
    ['{"inputs": "Fine.", "parameters": {"max_sentences": 0}}', 'application/json', /^parameters\.max_sentences must be an integer from 1 to \d+$/],
    ['{"inputs": "Fine.", "parameters": {"ratio": 2}}', 'application/json', /^parameters\.ratio must be a number greater than 0 and at most 1$/],
    ['{"inputs": "   "}', 'application/json', /empty/],
    [' \n\t ', 'text/plain', /empty/],
  ]
  for (const [body, type, message] of cases) {
    await t.rejects(invokeSummarize(t.testdir(), body, type), { statusCode: 400, message }, body)
  }
  // From custom attributes: one space between the words, not two.
  await t.rejects(invokeSummarize(t.testdir(), 'Fine.', 'text/plain', makeContext({ customAttributes: { max_sentences: '0' } })), {
    statusCode: 400,
    message: /^custom attribute max_sentences must be an integer/,
  })
})

t.test('bytes that are not UTF-8 are a 400', async (t) => {
  await t.rejects(invokeSummarize(t.testdir(), Buffer.from([0xc3, 0x28, 0xff]), 'text/plain'), {
    statusCode: 400,
    message: /UTF-8/,
  })
})

t.test('other content types are 415, other Accept values 406', async (t) => {
  await t.rejects(invokeSummarize(t.testdir(), TEXT, 'text/html'), { name: 'HandlerError', statusCode: 415 })
  const ctx = makeContext({ accept: 'text/plain' })
  await t.rejects(invokeSummarize(t.testdir(), TEXT, 'text/plain', ctx), { name: 'HandlerError', statusCode: 406 })
  const ok = await invokeSummarize(t.testdir(), TEXT, 'text/plain', makeContext({ accept: 'application/*' }))
  t.equal(ok.contentType, 'application/json')
})
