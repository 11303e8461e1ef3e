// Loads and validates a sentiment artifact: model.json (handler settings) and its lexicon files.
// The language-specific parts (lexicon, negators, intensifiers, contrast words, the function words
// that tell the language apart) all come from the artifact, so another artifact can serve other
// lexicons, or other languages, with this code. Two shapes:
// - multilingual: `"languages": {"en": {"lexicon": "lexicon.json", "negators": [...], ...}, "fr": ...}`,
//   plus `"unsupported": {"it": [marker words], ...}` for languages it recognises but cannot score;
// - one lexicon: `"lexicon"`, `"negators"`, ... at the top level, applied to every text (no detection).
import { join } from 'node:path'
import { isPlainObject, ModelLoadError, readManifest, readModelJsonFile } from '../model-files.js'

export const HANDLER_NAME = 'sentiment'
/** Valences live on the AFINN/VADER scale; anything far outside it is a corrupt lexicon. */
export const MAX_ABS_VALENCE = 5
/** The language of a one-lexicon artifact: undetermined (ISO 639-2 "und"). */
export const SINGLE_LANGUAGE = 'und'

export interface LanguageLexicon {
  language: string
  /** Lower-case word → valence, -5..5. */
  lexicon: Map<string, number>
  negators: Set<string>
  /** Word → factor applied to the next sentiment word ("very" 1.5, "slightly" 0.5). */
  intensifiers: Map<string, number>
  contrastWords: Set<string>
  /** Function words that, with the lexicon's own words, say a text is in this language. */
  markers: Set<string>
  /** Elided prefix → full word: French "n'aime" is read as "ne aime" (so "ne" can negate). */
  elisions: Map<string, string>
  /** A negator with nothing to negate after it negates the sentiment word before it ("mag es nicht"). */
  negationLooksBack: boolean
}

export interface SentimentModel {
  name: string
  version: number
  /** The languages it scores, in the artifact's order (the first wins a tie). */
  languages: LanguageLexicon[]
  /** Languages it recognises but cannot score: code → marker words. */
  unsupported: Map<string, Set<string>>
  /** How many tokens after a negator are negated. */
  negationScope: number
  /** |compound| below this is NEUTRAL. */
  neutralThreshold: number
}

const WORD = /^\p{Ll}+(?:'\p{Ll}+)*$/u
const LANGUAGE_CODE = /^[a-z]{2,3}$/

function wordList(value: unknown, field: string, where: string): Set<string> {
  if (value === undefined) return new Set()
  if (!Array.isArray(value) || !value.every((w) => typeof w === 'string' && WORD.test(w))) {
    throw new ModelLoadError(`${where}: "${field}" must be a list of lower-case words`)
  }
  return new Set(value as string[])
}

function numberMap(value: unknown, field: string, where: string, valid: (n: number) => boolean, rule: string): Map<string, number> {
  if (!isPlainObject(value)) throw new ModelLoadError(`${where}: "${field}" must be an object of word → number`)
  const map = new Map<string, number>()
  for (const [word, n] of Object.entries(value)) {
    if (!WORD.test(word)) throw new ModelLoadError(`${where}: "${field}" key ${JSON.stringify(word)} is not a lower-case word`)
    if (typeof n !== 'number' || !valid(n)) {
      throw new ModelLoadError(`${where}: "${field}" value of ${JSON.stringify(word)} must be ${rule}`)
    }
    map.set(word, n)
  }
  return map
}

function wordMap(value: unknown, field: string, where: string): Map<string, string> {
  if (value === undefined) return new Map()
  if (!isPlainObject(value) || !Object.entries(value).every(([k, v]) => WORD.test(k) && typeof v === 'string' && WORD.test(v))) {
    throw new ModelLoadError(`${where}: "${field}" must be an object of lower-case word → lower-case word`)
  }
  return new Map(Object.entries(value as Record<string, string>))
}

function numberSetting(value: unknown, fallback: number, field: string, where: string, valid: (n: number) => boolean): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !valid(value)) throw new ModelLoadError(`${where}: "${field}" is out of range`)
  return value
}

async function loadLanguage(dir: string, language: string, settings: Record<string, unknown>, where: string): Promise<LanguageLexicon> {
  const lexiconFile = settings.lexicon ?? 'lexicon.json'
  if (typeof lexiconFile !== 'string') throw new ModelLoadError(`${where}: "lexicon" must be a file name`)
  const lexicon = numberMap(
    await readModelJsonFile(dir, lexiconFile),
    'lexicon',
    join(dir, lexiconFile),
    (n) => Number.isFinite(n) && Math.abs(n) <= MAX_ABS_VALENCE && n !== 0,
    `a non-zero number from -${MAX_ABS_VALENCE} to ${MAX_ABS_VALENCE}`,
  )
  if (lexicon.size === 0) throw new ModelLoadError(`${join(dir, lexiconFile)} has no words`)
  if (settings.negationLooksBack !== undefined && typeof settings.negationLooksBack !== 'boolean') {
    throw new ModelLoadError(`${where}: "negationLooksBack" must be true or false`)
  }
  return {
    language,
    lexicon,
    negators: wordList(settings.negators, 'negators', where),
    intensifiers: numberMap(settings.intensifiers ?? {}, 'intensifiers', where, (n) => n > 0 && n <= 4, 'a factor above 0 and at most 4'),
    contrastWords: wordList(settings.contrastWords, 'contrastWords', where),
    markers: wordList(settings.markers, 'markers', where),
    elisions: wordMap(settings.elisions, 'elisions', where),
    negationLooksBack: settings.negationLooksBack === true,
  }
}

export async function loadSentimentModel(modelDir: string | undefined): Promise<SentimentModel> {
  const manifest = await readManifest(modelDir, HANDLER_NAME)
  const dir = modelDir as string
  const where = join(dir, 'model.json')
  const languages: LanguageLexicon[] = []
  const unsupported = new Map<string, Set<string>>()
  if (manifest.languages === undefined) {
    languages.push(await loadLanguage(dir, SINGLE_LANGUAGE, manifest, where))
  } else {
    if (!isPlainObject(manifest.languages) || Object.keys(manifest.languages).length === 0) {
      throw new ModelLoadError(`${where}: "languages" must be an object of language code → settings`)
    }
    for (const [code, settings] of Object.entries(manifest.languages)) {
      const at = `${where} "languages"."${code}"`
      if (!LANGUAGE_CODE.test(code) || !isPlainObject(settings)) throw new ModelLoadError(`${at}: a language code with an object of settings`)
      languages.push(await loadLanguage(dir, code, settings, at))
    }
    if (manifest.unsupported !== undefined && !isPlainObject(manifest.unsupported)) {
      throw new ModelLoadError(`${where}: "unsupported" must be an object of language code → marker words`)
    }
    for (const [code, markers] of Object.entries(manifest.unsupported ?? {})) {
      if (!LANGUAGE_CODE.test(code)) throw new ModelLoadError(`${where}: invalid language code "${code}" in "unsupported"`)
      unsupported.set(code, wordList(markers, `unsupported.${code}`, where))
    }
  }
  return {
    name: manifest.name,
    version: manifest.version,
    languages,
    unsupported,
    negationScope: numberSetting(manifest.negationScope, 3, 'negationScope', where, (n) => Number.isInteger(n) && n >= 1 && n <= 10),
    neutralThreshold: numberSetting(manifest.neutralThreshold, 0.05, 'neutralThreshold', where, (n) => n >= 0 && n < 1),
  }
}
