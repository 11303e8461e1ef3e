// Naive Bayes over character n-grams (as in langid.py, Lui & Baldwin 2012): each language's profile
// gives P(n-gram | language) with additive smoothing, and the text's n-grams vote by log-likelihood.
// Profiles come from the artifact (model.json + profiles.json), see build-profiles.ts.
import { join } from 'node:path'
import { HandlerError } from '../handler.js'
import { isPlainObject, ModelLoadError, readManifest, readModelJsonFile } from '../model-files.js'
import { LANGUAGE_CODE, PROFILE_FORMAT } from './build-profiles.js'
import { countNgrams } from './ngrams.js'

export const HANDLER_NAME = 'language-id'

export interface LanguageScore {
  language: string
  /** Posterior probability, 0..1. */
  score: number
}

interface LanguageTable {
  language: string
  logProbability: Map<string, number>
  /** Log-probability of an n-gram the profile does not hold. */
  unseen: number
}

export interface LanguageModel {
  name: string
  version: number
  ngramSizes: number[]
  topK: number
  tables: LanguageTable[]
}

function invalidProfiles(where: string, message: string): ModelLoadError {
  return new ModelLoadError(`${where}: ${message}`)
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0
}

function buildTables(raw: unknown, where: string, smoothing: number): { ngramSizes: number[]; tables: LanguageTable[] } {
  if (!isPlainObject(raw) || raw.format !== PROFILE_FORMAT) {
    throw invalidProfiles(where, `not a profiles file (expected "format": "${PROFILE_FORMAT}")`)
  }
  const { ngramSizes, languages } = raw
  if (!Array.isArray(ngramSizes) || ngramSizes.length === 0 || !ngramSizes.every((n) => Number.isInteger(n) && n >= 1 && n <= 5)) {
    throw invalidProfiles(where, '"ngramSizes" must be a list of sizes from 1 to 5')
  }
  if (!isPlainObject(languages) || Object.keys(languages).length < 2) {
    throw invalidProfiles(where, '"languages" must hold at least two language profiles')
  }
  const vocabulary = new Set<string>()
  for (const [language, profile] of Object.entries(languages)) {
    if (!LANGUAGE_CODE.test(language)) throw invalidProfiles(where, `invalid language code "${language}"`)
    if (!isPlainObject(profile) || !isCount(profile.total) || !isPlainObject(profile.ngrams)) {
      throw invalidProfiles(where, `the "${language}" profile needs a positive integer "total" and an "ngrams" object`)
    }
    let sum = 0
    for (const [gram, count] of Object.entries(profile.ngrams)) {
      if (!isCount(count)) throw invalidProfiles(where, `the "${language}" count of ${JSON.stringify(gram)} is not a positive integer`)
      sum += count
      vocabulary.add(gram)
    }
    if (sum > profile.total) throw invalidProfiles(where, `the "${language}" counts add up to more than its "total"`)
  }
  // +1 leaves room for n-grams no profile has seen.
  const vocabularySize = vocabulary.size + 1
  const tables = Object.entries(languages).map(([language, profile]) => {
    const { total, ngrams } = profile as { total: number; ngrams: Record<string, number> }
    const denominator = Math.log(total + smoothing * vocabularySize)
    const logProbability = new Map<string, number>()
    for (const [gram, count] of Object.entries(ngrams)) logProbability.set(gram, Math.log(count + smoothing) - denominator)
    return { language, logProbability, unseen: Math.log(smoothing) - denominator }
  })
  return { ngramSizes: ngramSizes as number[], tables }
}

export async function loadLanguageModel(modelDir: string | undefined): Promise<LanguageModel> {
  const manifest = await readManifest(modelDir, HANDLER_NAME)
  const dir = modelDir as string
  const where = join(dir, 'model.json')
  const { profiles = 'profiles.json', smoothing = 0.5, topK = 3 } = manifest
  if (typeof profiles !== 'string') throw new ModelLoadError(`${where}: "profiles" must be a file name`)
  if (typeof smoothing !== 'number' || !(smoothing > 0 && smoothing <= 10)) {
    throw new ModelLoadError(`${where}: "smoothing" must be a number above 0 and at most 10`)
  }
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1) {
    throw new ModelLoadError(`${where}: "topK" must be a positive integer`)
  }
  const { ngramSizes, tables } = buildTables(await readModelJsonFile(dir, profiles), join(dir, profiles), smoothing)
  return { name: manifest.name, version: manifest.version, ngramSizes, topK: Math.min(topK, tables.length), tables }
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000
}

/** The `topK` most likely languages of `text`, most likely first. */
export function identifyLanguage(text: string, model: LanguageModel): LanguageScore[] {
  const counts = new Map<string, number>()
  if (countNgrams(text, model.ngramSizes, counts) === 0) {
    throw new HandlerError(400, 'the text has no letters to identify a language from')
  }
  const logLikelihoods = model.tables.map(({ logProbability, unseen }) => {
    let sum = 0
    for (const [gram, count] of counts) sum += count * (logProbability.get(gram) ?? unseen)
    // The 1-, 2- and 3-grams at one position are far from independent; dividing by the number of
    // sizes keeps the posterior from being absurdly sure of itself on short texts.
    return sum / model.ngramSizes.length
  })
  const best = Math.max(...logLikelihoods)
  const weights = logLikelihoods.map((ll) => Math.exp(ll - best))
  const norm = weights.reduce((a, b) => a + b, 0)
  return model.tables
    .map(({ language }, i) => ({ language, score: (weights[i] ?? 0) / norm }))
    .sort((a, b) => b.score - a.score || (a.language < b.language ? -1 : 1))
    .slice(0, model.topK)
    .map(({ language, score }) => ({ language, score: round(score) }))
}
