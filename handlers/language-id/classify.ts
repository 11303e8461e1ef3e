// Naive Bayes over character n-grams (as in langid.py, Lui & Baldwin 2012): each language's profile
// gives P(n-gram | language) with additive smoothing, and the text's n-grams vote by log-likelihood;
// a softmax with the profiles' calibrated temperature turns the votes into probabilities.
// Profiles come from the artifact (model.json + profiles.json), see build-profiles.ts.
import { join } from 'node:path'
import { HandlerError } from '../handler.js'
import { isPlainObject, ModelLoadError, readManifest, readModelJsonFile } from '../model-files.js'
import { LANGUAGE_CODE, PROFILE_FORMAT } from './build-profiles.js'
import { buildTables, type LanguageTable, logLikelihoods, type ProfileCounts, softmax } from './naive-bayes.js'

export const HANDLER_NAME = 'language-id'

export interface LanguageScore {
  language: string
  /** Posterior probability, 0..1. */
  score: number
}

export interface LanguageModel {
  name: string
  version: number
  ngramSizes: number[]
  topK: number
  temperature: number
  tables: LanguageTable[]
}

/** A score is a probability, never a certainty: rounded answers stay inside [MIN_SCORE, 1 - MIN_SCORE]. */
export const MIN_SCORE = 0.0001

function invalidProfiles(where: string, message: string): ModelLoadError {
  return new ModelLoadError(`${where}: ${message}`)
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0
}

interface ValidProfiles {
  ngramSizes: number[]
  languages: Record<string, ProfileCounts>
  smoothing?: number
  temperature?: number
}

function validateProfiles(raw: unknown, where: string): ValidProfiles {
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
  for (const [language, profile] of Object.entries(languages)) {
    if (!LANGUAGE_CODE.test(language)) throw invalidProfiles(where, `invalid language code "${language}"`)
    if (!isPlainObject(profile) || !isCount(profile.total) || !isPlainObject(profile.ngrams)) {
      throw invalidProfiles(where, `the "${language}" profile needs a positive integer "total" and an "ngrams" object`)
    }
    let sum = 0
    for (const [gram, count] of Object.entries(profile.ngrams)) {
      if (!isCount(count)) throw invalidProfiles(where, `the "${language}" count of ${JSON.stringify(gram)} is not a positive integer`)
      sum += count
    }
    if (sum > profile.total) throw invalidProfiles(where, `the "${language}" counts add up to more than its "total"`)
  }
  const { smoothing, temperature } = raw
  if (smoothing !== undefined && (typeof smoothing !== 'number' || !(smoothing > 0 && smoothing <= 10))) {
    throw invalidProfiles(where, '"smoothing" must be a number above 0 and at most 10')
  }
  if (temperature !== undefined && (typeof temperature !== 'number' || !(temperature >= 1 && temperature <= 1000))) {
    throw invalidProfiles(where, '"temperature" must be a number from 1 to 1000')
  }
  return { ngramSizes: ngramSizes as number[], languages: languages as Record<string, ProfileCounts>, smoothing, temperature }
}

export async function loadLanguageModel(modelDir: string | undefined): Promise<LanguageModel> {
  const manifest = await readManifest(modelDir, HANDLER_NAME)
  const dir = modelDir as string
  const where = join(dir, 'model.json')
  const { profiles = 'profiles.json', smoothing, topK = 3 } = manifest
  if (typeof profiles !== 'string') throw new ModelLoadError(`${where}: "profiles" must be a file name`)
  if (smoothing !== undefined && (typeof smoothing !== 'number' || !(smoothing > 0 && smoothing <= 10))) {
    throw new ModelLoadError(`${where}: "smoothing" must be a number above 0 and at most 10`)
  }
  if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1) {
    throw new ModelLoadError(`${where}: "topK" must be a positive integer`)
  }
  const valid = validateProfiles(await readModelJsonFile(dir, profiles), join(dir, profiles))
  const tables = buildTables(valid.languages, (smoothing as number | undefined) ?? valid.smoothing ?? 0.5)
  // Profiles from before calibration: the old fixed divisor, one per n-gram size.
  const temperature = valid.temperature ?? valid.ngramSizes.length
  return { name: manifest.name, version: manifest.version, ngramSizes: valid.ngramSizes, topK: Math.min(topK, tables.length), temperature, tables }
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000
}

/** The `topK` most likely languages of `text`, most likely first. */
export function identifyLanguage(text: string, model: LanguageModel): LanguageScore[] {
  const logLikelihood = logLikelihoods(text, model.ngramSizes, model.tables)
  if (logLikelihood === undefined) throw new HandlerError(400, 'the text has no letters to identify a language from')
  const posterior = softmax(logLikelihood, model.temperature)
  return model.tables
    .map(({ language }, i) => ({ language, score: posterior[i] ?? 0 }))
    .sort((a, b) => b.score - a.score || (a.language < b.language ? -1 : 1))
    .slice(0, model.topK)
    .map(({ language, score }) => ({ language, score: Math.min(1 - MIN_SCORE, Math.max(MIN_SCORE, round(score))) }))
}
