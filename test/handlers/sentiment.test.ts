import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { HandlerError } from '../../handlers/handler.js'
import { startModelHost } from '../../src/local/model-host/host.js'
import { createFileBody } from '../../src/local/model-host/spooled-body.js'
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

t.test('the shipped lexicons load: English, French, German and Spanish, a few hundred words each', async (t) => {
  const model = await loadDefault()
  t.equal(model.name, 'sentiment')
  t.same(model.languages.map((l) => l.language), ['en', 'fr', 'de', 'es'])
  for (const { language, lexicon } of model.languages) t.ok(lexicon.size >= 250, `${language}: ${lexicon.size} words`)
  t.same([...model.unsupported.keys()], ['it', 'pt', 'nl'], 'recognised, but refused')
})

/** Clear opinions written for this test: none of them may come back NEUTRAL. */
const OPINIONS: Record<string, { positive: string[]; negative: string[]; negated: Array<[string, 'POSITIVE' | 'NEGATIVE']> }> = {
  en: {
    positive: ['I love this.', 'The staff were friendly and the room was spotless.', 'What a fantastic concert!', 'Super!'],
    negative: ['The service was terrible.', 'I hate waiting in this slow queue.', 'The food was cold and disgusting.'],
    negated: [['The soup was not good.', 'NEGATIVE'], ['It was not bad at all.', 'POSITIVE'], ['I don’t like this place.', 'NEGATIVE']],
  },
  fr: {
    positive: ["J'adore ce restaurant !", 'Le personnel était très gentil et la chambre impeccable.', 'Quel concert magnifique !'],
    negative: ['Le service était vraiment nul.', 'Cet hôtel est sale et bruyant.', 'Je suis très déçu de ce produit.'],
    negated: [["Ce n'est pas bon.", 'NEGATIVE'], ["Ce n'est pas mal du tout.", 'POSITIVE'], ["Je n'aime pas ce film.", 'NEGATIVE'], ["J'aime pas la fin.", 'NEGATIVE']],
  },
  de: {
    positive: ['Das Essen war hervorragend!', 'Die Mitarbeiter waren sehr freundlich und hilfsbereit.', 'Ich liebe diese Stadt.'],
    negative: ['Das Hotel war schrecklich und schmutzig.', 'Der Service war leider sehr schlecht.', 'Ich bin total enttäuscht.'],
    negated: [['Das ist nicht gut.', 'NEGATIVE'], ['Der Film war nicht schlecht.', 'POSITIVE'], ['Die Suppe gefällt mir nicht.', 'NEGATIVE'], ['Kein gutes Hotel.', 'NEGATIVE']],
  },
  es: {
    positive: ['Me encanta este lugar.', 'La comida estaba deliciosa y el camarero fue muy amable.', '¡Qué película tan buena!'],
    negative: ['El servicio fue pésimo.', 'La habitación estaba sucia y era muy ruidosa.', 'Odio este teléfono, es inútil.'],
    negated: [['No es bueno.', 'NEGATIVE'], ['No está mal.', 'POSITIVE'], ['No me gusta nada.', 'NEGATIVE']],
  },
}

t.test('clear opinions in English, French, German and Spanish get their label, never NEUTRAL', async (t) => {
  for (const [language, { positive, negative }] of Object.entries(OPINIONS)) {
    for (const text of positive) t.match(await classify(text), { label: 'POSITIVE' }, `${language}: ${text}`)
    for (const text of negative) t.match(await classify(text), { label: 'NEGATIVE' }, `${language}: ${text}`)
  }
})

t.test('negation in each language: "not good", "pas bon", "nicht gut", "no es bueno"', async (t) => {
  for (const [language, { negated }] of Object.entries(OPINIONS)) {
    for (const [text, label] of negated) t.equal((await classify(text)).label, label, `${language}: ${text}`)
  }
})

t.test('a language it cannot score is a 422 unsupported_language, never a NEUTRAL', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['Il film è stato bellissimo, mi è piaciuto molto.', /looks Italian \(it\)/],
    ['O filme foi ótimo, gostei muito.', /looks Portuguese \(pt\)/],
    ['De film was echt geweldig.', /looks Dutch \(nl\)/],
    ['Этот фильм просто отличный', /not written in the Latin alphabet/],
    ['Xyzzy plugh frobozz', /cannot be told/],
  ]
  for (const [text, why] of cases) {
    await t.rejects(classify(text), { name: 'HandlerError', statusCode: 422, code: 'unsupported_language', message: /^unsupported_language: / }, text)
    await t.rejects(classify(text), { message: why }, text)
  }
  await t.rejects(classify('Il servizio è stato pessimo.'), { message: /reads English \(en\), French \(fr\), German \(de\), Spanish \(es\)$/ })
  await t.rejects(invoke(JSON.stringify({ inputs: ['Very good.', 'Molto buono, davvero.'] })), { name: 'HandlerError', statusCode: 422 }, 'one unsupported text fails the list')
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

t.test('text without sentiment words is NEUTRAL, but not a confident one: there is no evidence', async (t) => {
  t.same(await classify('The meeting starts at nine in room four.'), { label: 'NEUTRAL', score: 0.5 })
  t.same(await classify('La réunion commence à neuf heures.'), { label: 'NEUTRAL', score: 0.5 })
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

t.test('through the container contract the refusal is a 422 whose error names unsupported_language', async (t) => {
  // What the runtime passes on as ModelError's OriginalMessage, and the gateway as modelMessage.
  const host = await startModelHost({ containers: [{ name: 'sentiment', handler: 'sentiment', modelDir }] })
  t.teardown(() => host.close())
  await host.ready
  const invocations = `${host.containers[0]!.url}/invocations`
  const call = (inputs: string) => fetch(invocations, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) })
  const refused = await call('La cena era ottima e il cameriere molto gentile.')
  t.equal(refused.status, 422)
  t.match(await refused.json(), { error: /^unsupported_language: the text looks Italian \(it\)/ })
  const french = await call('Le dîner était excellent.')
  t.equal(french.status, 200)
  t.match(await french.json(), [{ label: 'POSITIVE' }])
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

/** Through the host's own body (its strict UTF-8 decoding is a HandlerError 400). */
async function invokeBytes(t: Test, bytes: Buffer, contentType: string) {
  const path = join(t.testdir(), 'body')
  await writeFile(path, bytes)
  return handler.inputFn(createFileBody(path, bytes.length, contentType), contentType, makeContext())
}

t.test('unsupported content types and charsets are 415; an Accept it cannot produce is 406', async (t) => {
  await t.rejects(invoke('good', 'image/png'), { statusCode: 415, message: /image\/png/ })
  // No content type: the body decides (text-body-type.test.ts); bytes that are no text stay a 415.
  await t.rejects(invokeBytes(t, Buffer.from([0xff, 0xd8, 0xff, 0xe0]), ''), { statusCode: 415, message: /no content type/ })
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
