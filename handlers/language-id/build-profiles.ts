// Builds model/profiles.json from samples/<language>.txt: for each language, the counts of its most
// frequent character n-grams (the classifier's naive-Bayes features). Rerun after editing a sample,
// from the repository root:
//   npx tsc -p . && node dist/handlers/language-id/build-profiles.js
// (arguments: [samplesDir] [outFile], default handlers/language-id/samples and
// handlers/language-id/model/profiles.json). test/handlers/language-id.test.ts fails when the
// committed profiles.json is not what this produces from the committed samples.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { countNgrams } from './ngrams.js'

export const PROFILE_FORMAT = 'char-ngram-counts'
export const DEFAULT_NGRAM_SIZES: readonly number[] = [1, 2, 3]
export const DEFAULT_MAX_NGRAMS_PER_LANGUAGE = 1200
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
  languages: Record<string, LanguageProfile>
}

export interface BuildOptions {
  ngramSizes?: readonly number[]
  maxNgramsPerLanguage?: number
}

/** Most frequent first; ties in code-unit order so the output is the same on every machine. */
function byFrequency(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return b[1] - a[1]
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

export function buildProfiles(samples: Record<string, string>, options: BuildOptions = {}): LanguageProfiles {
  const ngramSizes = [...(options.ngramSizes ?? DEFAULT_NGRAM_SIZES)]
  const maxNgramsPerLanguage = options.maxNgramsPerLanguage ?? DEFAULT_MAX_NGRAMS_PER_LANGUAGE
  const languages: Record<string, LanguageProfile> = {}
  for (const language of Object.keys(samples).sort()) {
    if (!LANGUAGE_CODE.test(language)) throw new Error(`invalid language code "${language}"`)
    const counts = new Map<string, number>()
    const total = countNgrams(samples[language] ?? '', ngramSizes, counts)
    if (total === 0) throw new Error(`the sample for "${language}" has no letters`)
    const top = [...counts].sort(byFrequency).slice(0, maxNgramsPerLanguage)
    languages[language] = { total, ngrams: Object.fromEntries(top) }
  }
  return { format: PROFILE_FORMAT, ngramSizes, maxNgramsPerLanguage, languages }
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
  console.log(`wrote ${outFile} (${summary.join(', ')})`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
