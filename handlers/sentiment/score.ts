// Lexicon scoring in the spirit of VADER (Hutto & Gilbert, 2014): sum word valences, adjusted for
// negation, intensifiers, a contrastive "but", capitals and exclamation marks, then squash the sum
// into a compound score in [-1, 1]. The text's language is found first (detect.ts) and its own
// lexicon and word lists are used; a language the model cannot score is an error, never a NEUTRAL.
import { detectLanguage, type Token, tokenize } from './detect.js'
import type { LanguageLexicon, SentimentModel } from './lexicon-model.js'

export type SentimentLabel = 'POSITIVE' | 'NEGATIVE' | 'NEUTRAL'

export interface SentimentResult {
  label: SentimentLabel
  /** Confidence in the label, 0..1. */
  score: number
  /** The signed compound score, -1..1. */
  compound: number
  /** The language whose lexicon scored the text. */
  language: string
}

/** VADER's factor for a negated word: it flips and weakens ("not good" is milder than "bad"). */
const NEGATION_FACTOR = -0.74
/** A word in capitals in mixed-case text is emphasised ("GREAT"). */
const CAPS_FACTOR = 1.3
/** "good but slow": the clause after the contrast word dominates. */
const BEFORE_CONTRAST = 0.5
const AFTER_CONTRAST = 1.5
const EXCLAMATION_BOOST = 0.3
const MAX_EXCLAMATIONS = 4
/**
 * No word of the text is in the lexicon: NEUTRAL, but without evidence, so not a confident one (a
 * lexicon misses words; "a waste of money" has no listed word and is no neutral remark).
 */
const NO_EVIDENCE_SCORE = 0.5
/** VADER's normalisation constant: compound = sum / sqrt(sum² + alpha). */
const ALPHA = 15

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000
}

interface Valence {
  value: number
  afterContrast: boolean
  negated: boolean
}

/** Splits elided words ("n'aime" → "ne", "aime") for languages that elide. */
function expand(tokens: Array<Token | null>, lexicon: LanguageLexicon): Array<Token | null> {
  if (lexicon.elisions.size === 0) return tokens
  const out: Array<Token | null> = []
  for (const token of tokens) {
    const apostrophe = token?.word.indexOf("'") ?? -1
    const full = token !== null && apostrophe > 0 ? lexicon.elisions.get(token.word.slice(0, apostrophe)) : undefined
    if (token === null || full === undefined) {
      out.push(token)
      continue
    }
    out.push({ word: full, shouted: false }, { word: token.word.slice(apostrophe + 1), shouted: token.shouted })
  }
  return out
}

function sumValences(tokens: Array<Token | null>, lexicon: LanguageLexicon, negationScope: number): { sum: number; found: number } {
  const valences: Valence[] = []
  let factor = 1
  let negatedFor = 0
  let contrastSeen = false
  // A negator that negated nothing before its clause ended may look back (German "mag es nicht").
  let pendingNegator: { negatedSomething: boolean; before: number } | undefined
  let clauseStart = 0
  const endClause = (): void => {
    const candidate = pendingNegator !== undefined ? valences[pendingNegator.before - 1] : undefined
    if (lexicon.negationLooksBack && pendingNegator?.negatedSomething === false && candidate !== undefined && pendingNegator.before > clauseStart && !candidate.negated) {
      candidate.value *= NEGATION_FACTOR
      candidate.negated = true
    }
    pendingNegator = undefined
    clauseStart = valences.length
    factor = 1
    negatedFor = 0
  }
  for (const token of tokens) {
    if (token === null) {
      endClause()
      continue
    }
    const { word } = token
    if (lexicon.contrastWords.has(word)) {
      endClause()
      contrastSeen = true
      continue
    }
    if (lexicon.negators.has(word)) {
      negatedFor = negationScope
      factor = 1
      pendingNegator = { negatedSomething: false, before: valences.length }
      continue
    }
    const negated = negatedFor > 0
    if (negatedFor > 0) negatedFor -= 1
    const intensity = lexicon.intensifiers.get(word)
    if (intensity !== undefined) {
      factor *= intensity
      continue
    }
    const valence = lexicon.lexicon.get(word)
    if (valence !== undefined) {
      let value = valence * factor
      if (token.shouted) value *= CAPS_FACTOR
      if (negated) {
        value *= NEGATION_FACTOR
        if (pendingNegator !== undefined) pendingNegator.negatedSomething = true
      }
      valences.push({ value, afterContrast: contrastSeen, negated })
    }
    factor = 1
  }
  endClause()
  let sum = 0
  for (const { value, afterContrast } of valences) {
    sum += contrastSeen ? value * (afterContrast ? AFTER_CONTRAST : BEFORE_CONTRAST) : value
  }
  return { sum, found: valences.length }
}

export function scoreSentiment(text: string, model: SentimentModel): SentimentResult {
  const tokens = tokenize(text)
  const lexicon = detectLanguage(text, tokens, model)
  const { sum: valenceSum, found } = sumValences(expand(tokens, lexicon), lexicon, model.negationScope)
  let sum = valenceSum
  if (sum !== 0) {
    const exclamations = Math.min(MAX_EXCLAMATIONS, (text.match(/!/g) ?? []).length)
    sum += Math.sign(sum) * exclamations * EXCLAMATION_BOOST
  }
  const compound = sum / Math.sqrt(sum * sum + ALPHA)
  const magnitude = Math.abs(compound)
  const language = lexicon.language
  if (found === 0) return { label: 'NEUTRAL', score: NO_EVIDENCE_SCORE, compound: 0, language }
  if (compound === 0 || magnitude < model.neutralThreshold) {
    return { label: 'NEUTRAL', score: round(1 - magnitude), compound: round(compound), language }
  }
  return { label: compound > 0 ? 'POSITIVE' : 'NEGATIVE', score: round((1 + magnitude) / 2), compound: round(compound), language }
}
