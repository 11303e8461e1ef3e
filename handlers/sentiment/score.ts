// Lexicon scoring in the spirit of VADER (Hutto & Gilbert, 2014): sum word valences, adjusted for
// negation, intensifiers, a contrastive "but", capitals and exclamation marks, then squash the sum
// into a compound score in [-1, 1].
import type { SentimentModel } from './lexicon-model.js'

export type SentimentLabel = 'POSITIVE' | 'NEGATIVE' | 'NEUTRAL'

export interface SentimentResult {
  label: SentimentLabel
  /** Confidence in the label, 0..1. */
  score: number
  /** The signed compound score, -1..1. */
  compound: number
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
/** VADER's normalisation constant: compound = sum / sqrt(sum² + alpha). */
const ALPHA = 15

interface Token {
  word: string
  /** Written in capitals, e.g. "GREAT". */
  shouted: boolean
}

/** Words (with inner apostrophes, "don't") and clause punctuation, which ends negation and intensifiers. */
const TOKEN = /\p{L}+(?:'\p{L}+)*|[.!?;:,()]/gu

function tokenize(text: string): Array<Token | null> {
  // Typographic apostrophes ("don’t") would otherwise split contractions.
  const normalized = text.normalize('NFKC').replace(/[\u2018\u2019\u02bc`]/g, "'")
  const mixedCase = /\p{Ll}/u.test(normalized)
  const tokens: Array<Token | null> = []
  for (const [raw] of normalized.matchAll(TOKEN)) {
    if (!/\p{L}/u.test(raw)) {
      tokens.push(null)
      continue
    }
    const word = raw.toLowerCase()
    tokens.push({ word, shouted: mixedCase && raw.length > 1 && raw === raw.toUpperCase() })
  }
  return tokens
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000
}

export function scoreSentiment(text: string, model: SentimentModel): SentimentResult {
  const valences: Array<{ value: number; afterContrast: boolean }> = []
  let factor = 1
  let negatedFor = 0
  let contrastSeen = false
  for (const token of tokenize(text)) {
    if (token === null) {
      factor = 1
      negatedFor = 0
      continue
    }
    const { word } = token
    if (model.contrastWords.has(word)) {
      contrastSeen = true
      factor = 1
      negatedFor = 0
      continue
    }
    if (model.negators.has(word)) {
      negatedFor = model.negationScope
      factor = 1
      continue
    }
    const negated = negatedFor > 0
    if (negatedFor > 0) negatedFor -= 1
    const intensity = model.intensifiers.get(word)
    if (intensity !== undefined) {
      factor *= intensity
      continue
    }
    const valence = model.lexicon.get(word)
    if (valence !== undefined) {
      let value = valence * factor
      if (token.shouted) value *= CAPS_FACTOR
      if (negated) value *= NEGATION_FACTOR
      valences.push({ value, afterContrast: contrastSeen })
    }
    factor = 1
  }
  let sum = 0
  for (const { value, afterContrast } of valences) {
    sum += contrastSeen ? value * (afterContrast ? AFTER_CONTRAST : BEFORE_CONTRAST) : value
  }
  if (sum !== 0) {
    const exclamations = Math.min(MAX_EXCLAMATIONS, (text.match(/!/g) ?? []).length)
    sum += Math.sign(sum) * exclamations * EXCLAMATION_BOOST
  }
  const compound = sum / Math.sqrt(sum * sum + ALPHA)
  const magnitude = Math.abs(compound)
  if (compound === 0 || magnitude < model.neutralThreshold) {
    return { label: 'NEUTRAL', score: round(1 - magnitude), compound: round(compound) }
  }
  return { label: compound > 0 ? 'POSITIVE' : 'NEGATIVE', score: round((1 + magnitude) / 2), compound: round(compound) }
}
