// Builds model/profiles.json from samples/<language>.txt: for each language, the counts of its most
// frequent character n-grams (the classifier's naive-Bayes features), and the softmax temperature
// that makes its scores calibrated probabilities, chosen by k-fold cross-validation over the samples'
// sentences (profiles built without a fold score that fold; the temperature minimising their log
// loss wins). The samples are short everyday phrases as well as longer prose, since that is what
// callers send. Rerun after editing a sample,
// from the repository root:
//   npx tsc -p . && node dist/handlers/language-id/build-profiles.js
// (arguments: [samplesDir] [outFile], default handlers/language-id/samples and
// handlers/language-id/model/profiles.json). test/handlers/language-id.test.ts fails when the
// committed profiles.json is not what this produces from the committed samples.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { buildTables, logLikelihoods, softmax } from './naive-bayes.js'
import { countNgrams } from './ngrams.js'

export const PROFILE_FORMAT = 'char-ngram-counts'
export const DEFAULT_NGRAM_SIZES: readonly number[] = [1, 2, 3, 4]
export const DEFAULT_MAX_NGRAMS_PER_LANGUAGE = 4000
export const DEFAULT_SMOOTHING = 0.1
export const CALIBRATION_FOLDS = 5
/** ISO 639-1 (or 639-3) codes: the file name of a sample and the `language` of an answer. */
export const LANGUAGE_CODE = /^[a-z]{2,3}$/

export interface LanguageProfile {
  /** Every n-gram counted in the sample, including those cut from `ngrams`. */
  total: number
  /** The most frequent n-grams, most frequent first. */
  ngrams: Record<string, number>
}

export interface LanguageProfiles {
  format: typeof PROFILE_FORMAT
  ngramSizes: number[]
  maxNgramsPerLanguage: number
  /** Additive smoothing the temperature was calibrated with (model.json may override it). */
  smoothing: number
  /** Log-likelihoods are divided by this before the softmax. */
  temperature: number
  /** How the profiles did on the samples' sentences when each fold was left out. */
  crossValidation: { folds: number; sentences: number; accuracy: number; logLoss: number }
  languages: Record<string, LanguageProfile>
}

export interface BuildOptions {
  ngramSizes?: readonly number[]
  maxNgramsPerLanguage?: number
  smoothing?: number
}

/** Most frequent first; ties in code-unit order so the output is the same on every machine. */
function byFrequency(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return b[1] - a[1]
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

function countProfiles(samples: Record<string, string>, ngramSizes: number[], maxNgramsPerLanguage: number): Record<string, LanguageProfile> {
  const languages: Record<string, LanguageProfile> = {}
  for (const language of Object.keys(samples).sort()) {
    if (!LANGUAGE_CODE.test(language)) throw new Error(`invalid language code "${language}"`)
    const counts = new Map<string, number>()
    const total = countNgrams(samples[language] ?? '', ngramSizes, counts)
    if (total === 0) throw new Error(`the sample for "${language}" has no letters`)
    const top = [...counts].sort(byFrequency).slice(0, maxNgramsPerLanguage)
    languages[language] = { total, ngrams: Object.fromEntries(top) }
  }
  return languages
}

/** Sentences (or phrases) of a sample: split after . ! ? and at line breaks. */
export function sentences(sample: string): string[] {
  return sample
    .split(/(?<=[.!?…])\s+|\n+/u)
    .map((s) => s.trim())
    .filter((s) => /\p{L}/u.test(s))
}

interface Scored {
  logLikelihood: number[]
  truth: number
}

/** Scores every sentence with profiles built from the other folds (sentence i is in fold i mod k). */
function crossValidationScores(samples: Record<string, string>, ngramSizes: number[], max: number, smoothing: number): Scored[] {
  const languages = Object.keys(samples).sort()
  const split = languages.map((language) => sentences(samples[language] ?? ''))
  const scored: Scored[] = []
  for (let fold = 0; fold < CALIBRATION_FOLDS; fold++) {
    const rest = Object.fromEntries(languages.map((language, i) => [language, split[i]!.filter((_, j) => j % CALIBRATION_FOLDS !== fold).join('\n')]))
    const tables = buildTables(countProfiles(rest, ngramSizes, max), smoothing)
    split.forEach((list, truth) => {
      list.forEach((sentence, j) => {
        if (j % CALIBRATION_FOLDS !== fold) return
        const logLikelihood = logLikelihoods(sentence, ngramSizes, tables)
        if (logLikelihood !== undefined) scored.push({ logLikelihood, truth })
      })
    })
  }
  return scored
}

function logLoss(scored: Scored[], temperature: number): number {
  let sum = 0
  for (const { logLikelihood, truth } of scored) sum -= Math.log(Math.max(1e-12, softmax(logLikelihood, temperature)[truth]!))
  return sum / scored.length
}

/** The temperature, on a geometric grid from 1 to ~400, with the lowest cross-validated log loss. */
export function calibrate(samples: Record<string, string>, ngramSizes: number[], max: number, smoothing: number) {
  const scored = crossValidationScores(samples, ngramSizes, max, smoothing)
  let best = { temperature: 1, loss: Infinity }
  for (let k = 0; k <= 60; k++) {
    const temperature = Math.round(1.1 ** k * 100) / 100
    const loss = logLoss(scored, temperature)
    if (loss < best.loss) best = { temperature, loss }
  }
  const correct = scored.filter(({ logLikelihood, truth }) => logLikelihood.indexOf(Math.max(...logLikelihood)) === truth).length
  const round = (n: number) => Math.round(n * 10_000) / 10_000
  return {
    temperature: best.temperature,
    crossValidation: { folds: CALIBRATION_FOLDS, sentences: scored.length, accuracy: round(correct / scored.length), logLoss: round(best.loss) },
  }
}

export function buildProfiles(samples: Record<string, string>, options: BuildOptions = {}): LanguageProfiles {
  const ngramSizes = [...(options.ngramSizes ?? DEFAULT_NGRAM_SIZES)]
  const maxNgramsPerLanguage = options.maxNgramsPerLanguage ?? DEFAULT_MAX_NGRAMS_PER_LANGUAGE
  const smoothing = options.smoothing ?? DEFAULT_SMOOTHING
  const languages = countProfiles(samples, ngramSizes, maxNgramsPerLanguage)
  const { temperature, crossValidation } = calibrate(samples, ngramSizes, maxNgramsPerLanguage, smoothing)
  return { format: PROFILE_FORMAT, ngramSizes, maxNgramsPerLanguage, smoothing, temperature, crossValidation, languages }
}

/** One language per line, so a rebuild shows up as a readable diff per language. */
export function serializeProfiles(profiles: LanguageProfiles): string {
  const { languages, ...header } = profiles
  const lines = Object.entries(languages).map(([code, profile]) => `    ${JSON.stringify(code)}: ${JSON.stringify(profile)}`)
  const head = Object.entries(header).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`)
  return ['{', ...head, '  "languages": {', lines.join(',\n'), '  }', '}', ''].join('\n')
}

/** Reads `<dir>/<language>.txt` for every .txt file in `dir`. */
export async function readSamples(dir: string): Promise<Record<string, string>> {
  const samples: Record<string, string> = {}
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort()) {
    samples[basename(file, '.txt')] = await readFile(join(dir, file), 'utf8')
  }
  if (Object.keys(samples).length === 0) throw new Error(`no <language>.txt samples in ${dir}`)
  return samples
}

export async function buildProfilesFile(samplesDir: string, outFile: string, options?: BuildOptions): Promise<LanguageProfiles> {
  const profiles = buildProfiles(await readSamples(samplesDir), options)
  await writeFile(outFile, serializeProfiles(profiles))
  return profiles
}

async function main(args: string[]): Promise<void> {
  const samplesDir = resolve(args[0] ?? 'handlers/language-id/samples')
  const outFile = resolve(args[1] ?? 'handlers/language-id/model/profiles.json')
  const profiles = await buildProfilesFile(samplesDir, outFile)
  const summary = Object.entries(profiles.languages).map(([code, p]) => `${code}: ${Object.keys(p.ngrams).length}`)
  const cv = profiles.crossValidation
  console.log(`wrote ${outFile} (${summary.join(', ')}); temperature ${profiles.temperature}, ${cv.folds}-fold accuracy ${cv.accuracy} on ${cv.sentences} sentences`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
