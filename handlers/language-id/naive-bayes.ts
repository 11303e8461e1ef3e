// The naive-Bayes arithmetic shared by the classifier and the profile builder (which uses it to
// choose the softmax temperature by cross-validation): P(n-gram | language) with additive smoothing
// over a shared vocabulary, and the log-likelihood of a text's n-grams under each language.
import { countNgrams } from './ngrams.js'

export interface LanguageTable {
  language: string
  logProbability: Map<string, number>
  /** Log-probability of an n-gram the profile does not hold. */
  unseen: number
}

export interface ProfileCounts {
  total: number
  ngrams: Record<string, number>
}

export function buildTables(languages: Record<string, ProfileCounts>, smoothing: number): LanguageTable[] {
  const vocabulary = new Set<string>()
  for (const profile of Object.values(languages)) for (const gram of Object.keys(profile.ngrams)) vocabulary.add(gram)
  // +1 leaves room for n-grams no profile has seen.
  const vocabularySize = vocabulary.size + 1
  return Object.entries(languages).map(([language, { total, ngrams }]) => {
    const denominator = Math.log(total + smoothing * vocabularySize)
    const logProbability = new Map<string, number>()
    for (const [gram, count] of Object.entries(ngrams)) logProbability.set(gram, Math.log(count + smoothing) - denominator)
    return { language, logProbability, unseen: Math.log(smoothing) - denominator }
  })
}

/** One log-likelihood per table, in table order; undefined when the text has no letters. */
export function logLikelihoods(text: string, ngramSizes: readonly number[], tables: readonly LanguageTable[]): number[] | undefined {
  const counts = new Map<string, number>()
  if (countNgrams(text, ngramSizes, counts) === 0) return undefined
  return tables.map(({ logProbability, unseen }) => {
    let sum = 0
    for (const [gram, count] of counts) sum += count * (logProbability.get(gram) ?? unseen)
    return sum
  })
}

/**
 * Softmax of log-likelihoods divided by `temperature`. The n-grams of a text overlap (a 3-gram holds
 * two 2-grams), so the raw naive-Bayes posterior is far too sure of itself; the temperature, chosen
 * on held-out folds of the training text, turns it into a calibrated probability.
 */
export function softmax(logLikelihood: readonly number[], temperature: number): number[] {
  const scaled = logLikelihood.map((ll) => ll / temperature)
  const best = Math.max(...scaled)
  const weights = scaled.map((s) => Math.exp(s - best))
  const norm = weights.reduce((a, b) => a + b, 0)
  return weights.map((w) => w / norm)
}
