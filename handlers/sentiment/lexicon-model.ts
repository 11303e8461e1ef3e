// Loads and validates a sentiment artifact: model.json (handler settings) and its lexicon file.
// The language-specific parts (lexicon, negators, intensifiers, contrast words) all come from the
// artifact, so another artifact can serve another lexicon, or another language, with this code.
import { join } from 'node:path'
import { isPlainObject, ModelLoadError, readManifest, readModelJsonFile } from '../model-files.js'

export const HANDLER_NAME = 'sentiment'
/** Valences live on the AFINN/VADER scale; anything far outside it is a corrupt lexicon. */
export const MAX_ABS_VALENCE = 5

export interface SentimentModel {
  name: string
  version: number
  /** Lower-case word → valence, -5..5. */
  lexicon: Map<string, number>
  negators: Set<string>
  /** Word → factor applied to the next sentiment word ("very" 1.5, "slightly" 0.5). */
  intensifiers: Map<string, number>
  contrastWords: Set<string>
  /** How many tokens after a negator are negated. */
  negationScope: number
  /** |compound| below this is NEUTRAL. */
  neutralThreshold: number
}

const WORD = /^\p{Ll}+(?:'\p{Ll}+)*$/u

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

function numberSetting(value: unknown, fallback: number, field: string, where: string, valid: (n: number) => boolean): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !valid(value)) throw new ModelLoadError(`${where}: "${field}" is out of range`)
  return value
}

export async function loadSentimentModel(modelDir: string | undefined): Promise<SentimentModel> {
  const manifest = await readManifest(modelDir, HANDLER_NAME)
  const dir = modelDir as string
  const where = join(dir, 'model.json')
  const lexiconFile = manifest.lexicon ?? 'lexicon.json'
  if (typeof lexiconFile !== 'string') throw new ModelLoadError(`${where}: "lexicon" must be a file name`)
  const lexicon = numberMap(
    await readModelJsonFile(dir, lexiconFile),
    'lexicon',
    join(dir, lexiconFile),
    (n) => Number.isFinite(n) && Math.abs(n) <= MAX_ABS_VALENCE && n !== 0,
    `a non-zero number from -${MAX_ABS_VALENCE} to ${MAX_ABS_VALENCE}`,
  )
  if (lexicon.size === 0) throw new ModelLoadError(`${join(dir, lexiconFile)} has no words`)
  return {
    name: manifest.name,
    version: manifest.version,
    lexicon,
    negators: wordList(manifest.negators, 'negators', where),
    intensifiers: numberMap(manifest.intensifiers ?? {}, 'intensifiers', where, (n) => n > 0 && n <= 4, 'a factor above 0 and at most 4'),
    contrastWords: wordList(manifest.contrastWords, 'contrastWords', where),
    negationScope: numberSetting(manifest.negationScope, 3, 'negationScope', where, (n) => Number.isInteger(n) && n >= 1 && n <= 10),
    neutralThreshold: numberSetting(manifest.neutralThreshold, 0.05, 'neutralThreshold', where, (n) => n >= 0 && n < 1),
  }
}
