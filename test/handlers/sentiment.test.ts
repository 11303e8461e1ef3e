import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { HandlerError } from '../../handlers/handler.js'
import { handler } from '../../handlers/sentiment/index.js'
import type { SentimentModel } from '../../handlers/sentiment/lexicon-model.js'
import { makeContext, memoryBody } from './invocation-fixtures.js'

const modelDir = join(fileURLToPath(new URL('../../handlers/', import.meta.url)), 'sentiment', 'model')

interface Result {
  label: string
  score: number
}


let defaultModel: Promise<SentimentModel> | undefined
/** modelFn may answer synchronously; tests always want a promise. */
const load = async (dir: string | undefined): Promise<SentimentModel> => handler.modelFn(dir)
const loadDefault = (): Promise<SentimentModel> => (defaultModel ??= load(modelDir))

async function invoke(body: string, contentType = 'application/json', accept = '*/*', model?: SentimentModel) {
  const ctx = makeContext({ accept })
  const loaded = model ?? (await loadDefault())
  const input = await handler.inputFn(memoryBody(Buffer.from(body), contentType), contentType, ctx)
  return handler.outputFn(await handler.predictFn(input, loaded, ctx), ctx.accept, ctx)
}

async function classify(text: string, model?: SentimentModel): Promise<Result> {
  const output = await invoke(JSON.stringify({ inputs: text }), 'application/json', '*/*', model)
  const results = JSON.parse(String(output.body)) as Result[]
  return results[0]!
}

async function tempModel(t: Test, files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sentiment-model-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  }
  return dir
}

t.test('the shipped lexicon loads and holds a few hundred words', async (t) => {
  const model = await loadDefault()
  t.equal(model.name, 'sentiment')
  t.ok(model.lexicon.size >= 300, `${model.lexicon.size} words`)
})

t.test('{"inputs": "text"} answers [{label, score}] as application/json', async (t) => {
  const output = await invoke(JSON.stringify({ inputs: 'I love this phone, it is excellent.' }))
  t.equal(output.contentType, 'application/json')
  const results = JSON.parse(String(output.body)) as Result[]
  t.equal(results.length, 1)
  t.equal(results[0]!.label, 'POSITIVE')
  t.ok(results[0]!.score > 0.5 && results[0]!.score <= 1)
})

t.test('a list of inputs answers one result per input, in order', async (t) => {
  const output = await invoke(JSON.stringify({ inputs: ['What a wonderful day.', 'The service was terrible.', 'The box is on the table.'] }))
  const results = JSON.parse(String(output.body)) as Result[]
  t.same(results.map((r) => r.label), ['POSITIVE', 'NEGATIVE', 'NEUTRAL'])
  for (const r of results) t.ok(r.score >= 0 && r.score <= 1)
})

t.test('text/plain is classified as a single text', async (t) => {
  const output = await invoke('The delivery was late and the box was damaged.', 'text/plain; charset=utf-8')
  t.same((JSON.parse(String(output.body)) as Result[]).map((r) => r.label), ['NEGATIVE'])
})

t.test('text without sentiment words is NEUTRAL with full confidence', async (t) => {
  t.same(await classify('The meeting starts at nine in room four.'), { label: 'NEUTRAL', score: 1 })
})

t.test('negation flips the polarity, also in contractions with typographic apostrophes', async (t) => {
  t.equal((await classify('The movie was good.')).label, 'POSITIVE')
  t.equal((await classify('The movie was not good.')).label, 'NEGATIVE')
  t.equal((await classify('It was not bad at all.')).label, 'POSITIVE')
  t.equal((await classify('I don’t like this place.')).label, 'NEGATIVE')
  t.equal((await classify('I didnt enjoy the show.')).label, 'NEGATIVE')
})

t.test('negation stops at clause punctuation', async (t) => {
  t.equal((await classify('No, the food was great.')).label, 'POSITIVE')
})

t.test('intensifiers strengthen and dampeners weaken', async (t) => {
  const plain = await classify('The hotel was nice.')
  const very = await classify('The hotel was very nice.')
  const slightly = await classify('The hotel was slightly nice.')
  t.ok(very.score > plain.score, `${very.score} > ${plain.score}`)
  t.ok(slightly.score < plain.score, `${slightly.score} < ${plain.score}`)
})

t.test('capitals and exclamation marks add emphasis; case does not change the label', async (t) => {
  const plain = await classify('This is good.')
  const shouted = await classify('This is GOOD.')
  const excited = await classify('This is good!!!')
  t.ok(shouted.score > plain.score)
  t.ok(excited.score > plain.score)
  t.equal((await classify('THIS IS TERRIBLE')).label, 'NEGATIVE')
})

t.test('after "but" the second clause dominates', async (t) => {
  t.equal((await classify('The food was great but the service was awful.')).label, 'NEGATIVE')
  t.equal((await classify('The room was small but the staff were wonderful.')).label, 'POSITIVE')
})

t.test('malformed requests are 400 with a message that says what is wrong', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['{"inputs": "unterminated', /invalid JSON/],
    ['{}', /no "inputs"/],
    ['{"text": "good"}', /no "inputs"/],
    ['{"inputs": ""}', /empty/],
    ['{"inputs": "   "}', /empty/],
    ['{"inputs": 42}', /must be a string.*number/],
    ['{"inputs": []}', /empty list/],
    ['{"inputs": ["fine", 3]}', /"inputs"\[1\] must be a string/],
    ['["good"]', /must be an object/],
    ['null', /must be an object/],
  ]
  for (const [body, message] of cases) {
    await t.rejects(invoke(body), { name: 'HandlerError', statusCode: 400, message }, body)
  }
  await t.rejects(invoke(' \n', 'text/plain'), { statusCode: 400, message: /empty/ })
})

t.test('unsupported content types and charsets are 415; an Accept it cannot produce is 406', async (t) => {
  await t.rejects(invoke('good', 'image/png'), { statusCode: 415, message: /image\/png/ })
  await t.rejects(invoke('good', ''), { statusCode: 415, message: /no content type/ })
  await t.rejects(invoke('good', 'text/plain; charset=iso-8859-1'), { statusCode: 415, message: /charset/ })
  await t.rejects(invoke('{"inputs": "good"}', 'application/json', 'text/csv'), { name: 'HandlerError', statusCode: 406 })
})

t.test('an artifact with another lexicon and word lists behaves differently', async (t) => {
  const dir = await tempModel(t, {
    'model.json': {
      handler: 'sentiment',
      name: 'custom',
      version: 2,
      lexicon: 'words.json',
      negators: ['nope'],
      intensifiers: { mega: 2 },
    },
    'words.json': { meh: -2, rad: 3 },
  })
  const custom = await load(dir)
  t.equal(custom.name, 'custom')
  t.equal((await classify('The gig was meh.')).label, 'NEUTRAL', 'the default lexicon has no "meh"')
  t.equal((await classify('The gig was meh.', custom)).label, 'NEGATIVE')
  t.equal((await classify('The gig was nope rad.', custom)).label, 'NEGATIVE')
  t.equal((await classify('The gig was great.', custom)).label, 'NEUTRAL', 'the custom lexicon has no "great"')
  t.ok((await classify('mega rad', custom)).score > (await classify('rad', custom)).score)
})

t.test('modelFn refuses a missing or corrupt artifact with a clear error', async (t) => {
  await t.rejects(load(undefined), { name: 'ModelLoadError', message: /needs a model directory/ })
  const noManifest = await tempModel(t, { 'lexicon.json': { good: 2 } })
  await t.rejects(load(noManifest), { message: /model\.json: it is missing/ })
  const otherHandler = await tempModel(t, { 'model.json': { handler: 'echo', name: 'x', version: 1 } })
  await t.rejects(load(otherHandler), { message: /names handler "echo", not "sentiment"/ })
  const manifest = { handler: 'sentiment', name: 'x', version: 1 }
  const noLexicon = await tempModel(t, { 'model.json': manifest })
  await t.rejects(load(noLexicon), { message: /lexicon\.json: it is missing/ })
  const corrupt = await tempModel(t, { 'model.json': manifest, 'lexicon.json': '{"good": 2,' })
  await t.rejects(load(corrupt), { message: /lexicon\.json is not valid JSON/ })
  const badValue = await tempModel(t, { 'model.json': manifest, 'lexicon.json': { good: 'yes' } })
  await t.rejects(load(badValue), { message: /value of "good" must be a non-zero number/ })
  const escape = await tempModel(t, { 'model.json': { ...manifest, lexicon: '../lexicon.json' } })
  await t.rejects(load(escape), { message: /invalid data file name/ })
})
