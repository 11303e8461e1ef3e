// Which of the model's languages a text is in, from its words: every word the text shares with a
// language's lexicon, word lists or marker (function) words is a vote for it, split evenly when
// several languages have the word ("no" is English and Spanish). Languages the artifact lists as
// `unsupported` take part in the vote, so an Italian review is recognised as Italian and refused
// rather than scored with an English lexicon into a confident NEUTRAL.
import { HandlerError } from '../handler.js'
import { type LanguageLexicon, type SentimentModel, SINGLE_LANGUAGE } from './lexicon-model.js'

export interface Token {
  word: string
  /** Written in capitals, e.g. "GREAT". */
  shouted: boolean
}

const NAMES: Record<string, string> = {
  en: 'English', fr: 'French', de: 'German', es: 'Spanish', it: 'Italian', pt: 'Portuguese', nl: 'Dutch',
}

/**
 * The model cannot score the text's language: a 422 whose message starts with the code
 * `unsupported_language` (the host sends only `{"error": message}`, so the code travels in the text).
 */
export class UnsupportedLanguageError extends HandlerError {
  readonly code = 'unsupported_language'

  constructor(
    readonly language: string | undefined,
    readonly supported: readonly string[],
    why: string,
  ) {
    super(422, `unsupported_language: ${why}; this sentiment model reads ${supported.map((c) => `${NAMES[c] ?? c} (${c})`).join(', ')}`)
  }
}

/** Words (with inner apostrophes, "don't") and clause punctuation, which ends negation and intensifiers. */
const TOKEN = /\p{L}+(?:'\p{L}+)*|[.!?;:,()¿¡]/gu

export function tokenize(text: string): Array<Token | null> {
  // Typographic apostrophes ("don’t") would otherwise split contractions.
  const normalized = text.normalize('NFKC').replace(/[\u2018\u2019\u02bc`]/g, "'")
  const mixedCase = /\p{Ll}/u.test(normalized)
  const tokens: Array<Token | null> = []
  for (const [raw] of normalized.matchAll(TOKEN)) {
    if (!/\p{L}/u.test(raw)) {
      tokens.push(null)
      continue
    }
    tokens.push({ word: raw.toLowerCase(), shouted: mixedCase && raw.length > 1 && raw === raw.toUpperCase() })
  }
  return tokens
}

function knows(lexicon: LanguageLexicon, word: string): boolean {
  return (
    lexicon.markers.has(word) ||
    lexicon.lexicon.has(word) ||
    lexicon.negators.has(word) ||
    lexicon.intensifiers.has(word) ||
    lexicon.contrastWords.has(word)
  )
}

/** The words a token stands for: itself, and for "l'hôtel" also "hôtel" (plus the elision "l" as a vote). */
function forms(word: string): { whole: string; prefix?: string; rest?: string } {
  const apostrophe = word.indexOf("'")
  if (apostrophe <= 0) return { whole: word }
  return { whole: word, prefix: word.slice(0, apostrophe), rest: word.slice(apostrophe + 1) }
}

export function detectLanguage(text: string, tokens: Array<Token | null>, model: SentimentModel): LanguageLexicon {
  const [only] = model.languages
  if (model.languages.length === 1 && only !== undefined && only.language === SINGLE_LANGUAGE) return only
  const supported = model.languages.map((l) => l.language)
  const letters = text.match(/\p{L}/gu) ?? []
  const latin = text.match(/\p{Script=Latin}/gu) ?? []
  if (letters.length > 0 && latin.length < letters.length / 2) {
    throw new UnsupportedLanguageError(undefined, supported, 'the text is not written in the Latin alphabet')
  }
  const votes = new Map<string, number>()
  const vote = (owners: string[]): void => {
    for (const owner of owners) votes.set(owner, (votes.get(owner) ?? 0) + 1 / owners.length)
  }
  const ownersOf = (word: string): string[] => [
    ...model.languages.filter((l) => knows(l, word)).map((l) => l.language),
    ...[...model.unsupported].filter(([, markers]) => markers.has(word)).map(([code]) => code),
  ]
  for (const token of tokens) {
    if (token === null) continue
    const { whole, prefix, rest } = forms(token.word)
    const owners = ownersOf(whole)
    if (owners.length > 0 || rest === undefined) {
      vote(owners)
      continue
    }
    vote(model.languages.filter((l) => prefix !== undefined && l.elisions.has(prefix)).map((l) => l.language))
    vote(ownersOf(rest))
  }
  let best: { language: string; votes: number } | undefined
  // Supported languages first, in the artifact's order, so they win ties.
  for (const language of [...supported, ...model.unsupported.keys()]) {
    const n = votes.get(language) ?? 0
    if (n > 0 && (best === undefined || n > best.votes)) best = { language, votes: n }
  }
  if (best === undefined) {
    throw new UnsupportedLanguageError(undefined, supported, 'none of its words is one the model knows, so its language cannot be told')
  }
  const lexicon = model.languages.find((l) => l.language === best.language)
  if (lexicon === undefined) {
    throw new UnsupportedLanguageError(best.language, supported, `the text looks ${NAMES[best.language] ?? best.language} (${best.language})`)
  }
  return lexicon
}
