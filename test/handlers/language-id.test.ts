import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { HandlerError } from '../../handlers/handler.js'
import { buildProfiles, readSamples, serializeProfiles } from '../../handlers/language-id/build-profiles.js'
import type { LanguageModel } from '../../handlers/language-id/classify.js'
import { handler } from '../../handlers/language-id/index.js'
import { makeContext, memoryBody } from './invocation-fixtures.js'

const handlerDir = join(fileURLToPath(new URL('../../handlers/', import.meta.url)), 'language-id')
const modelDir = join(handlerDir, 'model')
const samplesDir = join(handlerDir, 'samples')

interface Score {
  language: string
  score: number
}

/** Everyday sentences written for this test, not taken from samples/ (checked below). */
const HELD_OUT: Record<string, string[]> = {
  en: [
    'Could you please pass me the salt?',
    'I think it is going to rain tomorrow.',
    'My sister just bought a new bicycle for school.',
    'The children are playing football in the park.',
    'Our flight was cancelled because of the snow.',
    'Do you know a good dentist near the station?',
  ],
  fr: [
    'Est-ce que tu peux me passer le sel?',
    'Je pense qu’il va pleuvoir demain après-midi.',
    'Ma sœur vient d’acheter un nouveau vélo pour aller au lycée.',
    'Les enfants jouent au football dans le parc.',
    'Notre vol a été annulé à cause de la neige.',
    'Tu connais un bon dentiste près de la gare?',
  ],
  de: [
    'Kannst du mir bitte das Salz geben?',
    'Ich glaube, dass es morgen regnen wird.',
    'Meine Schwester hat sich ein neues Fahrrad für die Schule gekauft.',
    'Die Kinder spielen im Park Fußball.',
    'Unser Flug wurde wegen des Schnees gestrichen.',
    'Kennst du einen guten Zahnarzt in der Nähe vom Bahnhof?',
  ],
  es: [
    '¿Me puedes pasar la sal, por favor?',
    'Creo que mañana va a llover todo el día.',
    'Mi hermana acaba de comprarse una bicicleta nueva para ir al colegio.',
    'Los niños están jugando al fútbol en el parque.',
    'Nuestro vuelo fue cancelado por culpa de la nieve.',
    '¿Conoces a un buen dentista cerca de la estación?',
  ],
  it: [
    'Mi puoi passare il sale, per favore?',
    'Credo che domani pioverà per tutto il giorno.',
    'Dobbiamo andare adesso o perderemo l’autobus.',
    'I bambini stanno giocando a calcio nel parco.',
    'Il nostro volo è stato cancellato a causa della neve.',
    'Conosci un bravo dentista vicino alla stazione?',
  ],
  pt: [
    'Podes passar-me o sal, por favor?',
    'Acho que amanhã vai chover o dia todo.',
    'A minha irmã acabou de comprar uma bicicleta nova para a escola.',
    'As crianças estão a jogar futebol no parque.',
    'O nosso voo foi cancelado por causa da neve.',
    'Conheces um bom dentista perto da estação?',
  ],
  nl: [
    'Kun je me het zout even aangeven?',
    'Ik denk dat het morgen de hele dag gaat regenen.',
    'Mijn zus heeft net een nieuwe fiets voor school gekocht.',
    'De kinderen spelen voetbal in het park.',
    'Onze vlucht werd geannuleerd vanwege de sneeuw.',
    'Ken jij een goede tandarts in de buurt van het station?',
  ],
}

/**
 * Short everyday phrases (one to six words), written for this test and kept out of samples/ (checked
 * below): what people actually type into a demo. The accuracy on them is printed as a comment.
 */
const SHORT_PHRASES: Record<string, string[]> = {
  en: ['Where is the bathroom?', 'Good morning, everyone!', 'How much does this cost?', 'I am really hungry.', 'See you tomorrow.', 'Thank you very much.', 'What time is it?', 'Can I help you?', 'The bus is late again.', "I don't understand.", 'Nice to meet you.', 'Where do you live?'],
  fr: ['Bonjour, comment ça va ?', 'Merci beaucoup !', 'Je ne comprends pas.', 'Combien ça coûte ?', 'À demain !', 'Quelle heure est-il ?', "J'ai faim.", "Il fait froid aujourd'hui.", 'Je suis désolé.', 'Où sont les toilettes ?', "C'est très bon.", 'Tu habites où ?'],
  de: ['Guten Morgen!', 'Wie geht es dir?', 'Vielen Dank!', 'Ich verstehe das nicht.', 'Wo ist die Toilette?', 'Wie viel kostet das?', 'Bis morgen!', 'Ich habe Hunger.', 'Wie spät ist es?', 'Das Wetter ist schön.', 'Entschuldigung, wo ist der Ausgang?', 'Ich komme aus Berlin.'],
  es: ['Buenos días.', '¿Cómo estás?', 'Muchas gracias.', 'No entiendo nada.', '¿Dónde está el baño?', '¿Cuánto cuesta esto?', 'Hasta mañana.', 'Tengo hambre.', '¿Qué hora es?', 'Hace mucho calor hoy.', 'Lo siento mucho.', '¿Dónde vives?'],
  it: ['Buongiorno a tutti!', 'Come stai?', 'Grazie mille.', 'Non capisco.', "Dov'è il bagno?", 'Quanto costa questo?', 'A domani!', 'Ho fame.', 'Che ore sono?', 'Fa molto caldo oggi.', 'Mi dispiace tanto.', 'Dove abiti?'],
  pt: ['Bom dia!', 'Como vai você?', 'Muito obrigado.', 'Não entendo.', 'Onde fica a casa de banho?', 'Quanto custa isto?', 'Até amanhã!', 'Estou com fome.', 'Que horas são?', 'Está muito calor hoje.', 'Desculpe, onde é a saída?', 'Onde você mora?'],
  nl: ['Goedemorgen!', 'Hoe gaat het met je?', 'Dank je wel.', 'Ik begrijp het niet.', 'Waar is het toilet?', 'Hoeveel kost dit?', 'Tot morgen!', 'Ik heb honger.', 'Hoe laat is het?', 'Het is erg warm vandaag.', 'Sorry, waar is de uitgang?', 'Waar woon je?'],
}

let defaultModel: Promise<LanguageModel> | undefined
/** modelFn may answer synchronously; tests always want a promise. */
const load = async (dir: string | undefined): Promise<LanguageModel> => handler.modelFn(dir)
const loadDefault = (): Promise<LanguageModel> => (defaultModel ??= load(modelDir))

async function invoke(body: string, contentType = 'application/json', model?: LanguageModel): Promise<unknown> {
  const ctx = makeContext()
  const loaded = model ?? (await loadDefault())
  const input = await handler.inputFn(memoryBody(Buffer.from(body), contentType), contentType, ctx)
  const output = await handler.outputFn(await handler.predictFn(input, loaded, ctx), ctx.accept, ctx)
  if (output.contentType !== 'application/json') throw new Error(`unexpected content type ${output.contentType}`)
  return JSON.parse(String(output.body))
}

const identify = async (text: string, model?: LanguageModel): Promise<Score[]> =>
  (await invoke(JSON.stringify({ inputs: text }), 'application/json', model)) as Score[]

async function tempModel(t: Test, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'language-id-model-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content)
  return dir
}

t.test('the committed profiles.json is exactly what build-profiles makes from samples/', async (t) => {
  const built = serializeProfiles(buildProfiles(await readSamples(samplesDir)))
  const committed = await readFile(join(modelDir, 'profiles.json'), 'utf8')
  // Not t.equal: a 60 KB diff helps nobody. Rebuild with the command in build-profiles.ts.
  t.ok(built === committed, 'profiles.json is stale: rerun handlers/language-id/build-profiles')
})

t.test('the held-out sentences and phrases are not part of the samples', async (t) => {
  const samples = Object.values(await readSamples(samplesDir)).join('\n').toLowerCase()
  for (const sentence of [...Object.values(HELD_OUT).flat(), ...Object.values(SHORT_PHRASES).flat(), 'Où est la gare ?']) {
    t.notOk(samples.includes(sentence.slice(0, -1).toLowerCase()), sentence)
  }
})

t.test('identifies short everyday sentences in each language', async (t) => {
  const samples = await readSamples(samplesDir)
  t.same(Object.keys(HELD_OUT).sort(), Object.keys(samples).sort(), 'every profiled language is tested')
  for (const [language, sentences] of Object.entries(HELD_OUT)) {
    for (const sentence of sentences) {
      t.ok(sentence.split(/\s+/).length >= 6, `at least six words: ${sentence}`)
      const [best] = await identify(sentence)
      t.equal(best?.language, language, sentence)
    }
  }
})

t.test('identifies short everyday phrases: at least 90% right over all seven languages', async (t) => {
  t.same(Object.keys(SHORT_PHRASES).sort(), Object.keys(HELD_OUT).sort(), 'the same seven languages')
  let right = 0
  let total = 0
  const perLanguage: string[] = []
  const misses: string[] = []
  for (const [language, phrases] of Object.entries(SHORT_PHRASES)) {
    t.ok(phrases.length >= 10, `${language}: at least 10 phrases`)
    let ok = 0
    for (const phrase of phrases) {
      t.ok(phrase.split(/\s+/).length <= 6, `short: ${phrase}`)
      const [best] = await identify(phrase)
      if (best?.language === language) ok += 1
      else misses.push(`${JSON.stringify(phrase)} (${language}) → ${best?.language} ${best?.score}`)
    }
    right += ok
    total += phrases.length
    perLanguage.push(`${language} ${ok}/${phrases.length}`)
    t.ok(ok / phrases.length >= 0.75, `${language}: ${ok}/${phrases.length}`)
  }
  const accuracy = right / total
  t.comment(`held-out short phrases: ${right}/${total} = ${(accuracy * 100).toFixed(1)}% (${perLanguage.join(', ')})`)
  if (misses.length > 0) t.comment(`misses: ${misses.join('; ')}`)
  t.ok(accuracy >= 0.9, `accuracy ${accuracy}`)
})

t.test("the README's example is French, and a lone greeting is not Italian", async (t) => {
  const gare = await identify('Où est la gare ?')
  t.equal(gare[0]!.language, 'fr')
  t.ok(gare[0]!.score > 0.8 && gare[0]!.score < 1, `confident, not certain: ${gare[0]!.score}`)
  t.ok(['de', 'nl'].includes((await identify('Hallo'))[0]!.language), 'Hallo is German (or Dutch)')
  t.equal((await identify('Hello'))[0]!.language, 'en')
})

t.test('scores are calibrated probabilities: never exactly 1 or 0, lower on ambiguous text', async (t) => {
  const long = await identify(HELD_OUT.de!.join(' '))
  t.equal(long[0]!.language, 'de')
  t.ok(long[0]!.score < 1 && long[0]!.score >= 0.99, `sure but not certain: ${long[0]!.score}`)
  for (const s of long) t.ok(s.score > 0, `${s.language} ${s.score} > 0`)
  const hallo = await identify('Hallo')
  t.ok(hallo[0]!.score < 0.8, `one ambiguous word is not a sure thing: ${hallo[0]!.score}`)
  const profiles = JSON.parse(await readFile(join(modelDir, 'profiles.json'), 'utf8')) as { temperature: number; crossValidation: { accuracy: number } }
  t.ok(profiles.temperature > 1, 'a temperature chosen by cross-validation')
  t.ok(profiles.crossValidation.accuracy >= 0.9, `cross-validated accuracy on the samples' sentences: ${profiles.crossValidation.accuracy}`)
})

t.test('a string answers the top three languages, most likely first, with scores in 0..1', async (t) => {
  const scores = await identify('Le chat dort sur le canapé du salon.')
  t.equal(scores.length, 3)
  t.equal(scores[0]!.language, 'fr')
  t.equal(new Set(scores.map((s) => s.language)).size, 3)
  for (const [i, s] of scores.entries()) {
    t.ok(s.score >= 0 && s.score <= 1)
    if (i > 0) t.ok(s.score <= scores[i - 1]!.score)
  }
  t.ok(scores.reduce((sum, s) => sum + s.score, 0) <= 1.001)
})

t.test('a list answers one top-three list per input; text/plain answers a single text', async (t) => {
  const lists = (await invoke(JSON.stringify({ inputs: ['Wo ist der Bahnhof, bitte sagen Sie es mir?', 'Where is the train station, can you tell me?'] }))) as Score[][]
  t.equal(lists.length, 2)
  t.same(lists.map((l) => [l.length, l[0]!.language]), [[3, 'de'], [3, 'en']])
  const plain = (await invoke('¿Dónde está la estación de tren, por favor?', 'text/plain')) as Score[]
  t.equal(plain[0]!.language, 'es')
})

t.test('empty, whitespace-only or letterless text is 400', async (t) => {
  await t.rejects(invoke('{"inputs": ""}'), { statusCode: 400, message: /empty/ })
  await t.rejects(invoke('{"inputs": "  \\n\\t "}'), { statusCode: 400, message: /empty/ })
  await t.rejects(invoke('   ', 'text/plain'), { statusCode: 400, message: /empty/ })
  await t.rejects(invoke('{"inputs": ["Guten Tag", " "]}'), { statusCode: 400, message: /"inputs"\[1\] is empty/ })
  await t.rejects(invoke('{"inputs": "12345 !!! 3.14"}'), { statusCode: 400, message: /no letters/ })
})

t.test('invalid JSON and wrong types are 400; other content types are 415', async (t) => {
  await t.rejects(invoke('{inputs: "x"}'), { statusCode: 400, message: /invalid JSON/ })
  await t.rejects(invoke('{"inputs": {"text": "x"}}'), { statusCode: 400, message: /must be a string.*object/ })
  await t.rejects(invoke('hello world', 'application/xml'), { name: 'HandlerError', statusCode: 415 })
})

t.test('an artifact with other profiles answers from its own languages', async (t) => {
  const samples = await readSamples(samplesDir)
  const profiles = buildProfiles({ de: samples.de!, nl: samples.nl! })
  const dir = await tempModel(t, {
    'model.json': JSON.stringify({ handler: 'language-id', name: 'germanic', version: 1, profiles: 'germanic.json' }),
    'germanic.json': serializeProfiles(profiles),
  })
  const germanic = await load(dir)
  const english = HELD_OUT.en![0]!
  t.equal((await identify(english))[0]!.language, 'en')
  const scores = await identify(english, germanic)
  t.same(scores.map((s) => s.language).sort(), ['de', 'nl'], 'only two languages, so only two answers')
  t.equal((await identify(HELD_OUT.nl![1]!, germanic))[0]!.language, 'nl')
})

t.test('modelFn refuses a missing or corrupt profiles file with a clear error', async (t) => {
  const manifest = JSON.stringify({ handler: 'language-id', name: 'x', version: 1 })
  await t.rejects(load(await tempModel(t, { 'model.json': manifest })), { message: /profiles\.json: it is missing/ })
  await t.rejects(load(await tempModel(t, { 'model.json': manifest, 'profiles.json': '{"format"' })), {
    message: /profiles\.json is not valid JSON/,
  })
  await t.rejects(load(await tempModel(t, { 'model.json': manifest, 'profiles.json': '{"languages": {}}' })), {
    message: /not a profiles file/,
  })
  const badCount = { format: 'char-ngram-counts', ngramSizes: [1], languages: { en: { total: 3, ngrams: { e: -1 } }, fr: { total: 1, ngrams: { e: 1 } } } }
  await t.rejects(load(await tempModel(t, { 'model.json': manifest, 'profiles.json': JSON.stringify(badCount) })), {
    message: /"en" count of "e" is not a positive integer/,
  })
  await t.rejects(load(undefined), { message: /needs a model directory/ })
})
