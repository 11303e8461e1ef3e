// Rule-based English sentence splitting, linear in the input (inputs reach 10 MiB).

/**
 * Words that end with a period without ending the sentence when a capitalised word follows
 * ("Dr. Smith", "Fig. 3", "e.g. Paris"). A lowercase continuation never ends a sentence anyway, so
 * "etc." and "a.m." are left out: before a capital they usually do end one.
 */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'rev', 'hon', 'gen', 'col', 'capt',
  'lt', 'sgt', 'gov', 'sen', 'rep', 'pres', 'vs', 'v', 'e.g', 'i.e', 'cf', 'viz', 'al', 'approx',
  'fig', 'figs', 'no', 'nos', 'vol', 'vols', 'pp', 'p', 'ch', 'sec', 'eq', 'ed', 'eds', 'est', 'dept',
  'inc', 'ltd', 'co', 'corp', 'jan', 'feb', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov',
  'u.s', 'u.k', 'u.n', 'e.u', 'ph.d', 'm.d', 'b.a', 'm.a', 'b.sc', 'm.sc',
])

/** Terminal punctuation, optional closing quotes/brackets, then whitespace. */
const BOUNDARY = /[.!?…]+["'”’»)\]]*\s+/g
const PARAGRAPH_BREAK = /\n[ \t\r\f\v]*\n/
const LOWERCASE_START = /^\p{Ll}/u
const SINGLE_CAPITAL = /^\p{Lu}$/u

/** A summary must stay bounded even for text without punctuation: longer runs are cut near this. */
export const MAX_SENTENCE_CHARS = 1000

function endsSentence(text: string, punctuationAt: number, match: string, nextAt: number): boolean {
  if (nextAt >= text.length) return true
  // "approx. five", "e.g. the ..." — a lowercase continuation is the same sentence.
  if (LOWERCASE_START.test(text.slice(nextAt, nextAt + 2))) return false
  if (!match.startsWith('.') || match.startsWith('..')) return true
  // The word before the period: "Dr", "e.g", "U.S", "J".
  let start = punctuationAt
  while (start > 0 && !/[\s("'“‘]/.test(text[start - 1]!)) start -= 1
  const word = text.slice(start, punctuationAt)
  if (SINGLE_CAPITAL.test(word)) return false // an initial: "J. R. R. Tolkien"
  return !ABBREVIATIONS.has(word.toLowerCase())
}

/** Cuts over-long runs at line breaks, then at whitespace near MAX_SENTENCE_CHARS. */
function* boundedPieces(sentence: string): Generator<string> {
  if (sentence.length <= MAX_SENTENCE_CHARS) {
    yield sentence
    return
  }
  for (const line of sentence.split(/\n/)) {
    let rest = line
    while (rest.length > MAX_SENTENCE_CHARS) {
      const cut = rest.lastIndexOf(' ', MAX_SENTENCE_CHARS)
      const at = cut > MAX_SENTENCE_CHARS / 2 ? cut : MAX_SENTENCE_CHARS
      yield rest.slice(0, at)
      rest = rest.slice(at)
    }
    yield rest
  }
}

function normalise(sentence: string): string {
  return sentence.replace(/\s+/g, ' ').trim()
}

/** Splits text into sentences (whitespace collapsed), in order; blank lines always separate. */
export function splitSentences(text: string): string[] {
  const sentences: string[] = []
  const push = (raw: string): void => {
    for (const piece of boundedPieces(raw)) {
      const sentence = normalise(piece)
      if (sentence !== '') sentences.push(sentence)
    }
  }
  for (const paragraph of text.split(PARAGRAPH_BREAK)) {
    let sentenceStart = 0
    BOUNDARY.lastIndex = 0
    for (let match = BOUNDARY.exec(paragraph); match !== null; match = BOUNDARY.exec(paragraph)) {
      const nextAt = match.index + match[0].length
      if (endsSentence(paragraph, match.index, match[0], nextAt)) {
        push(paragraph.slice(sentenceStart, nextAt))
        sentenceStart = nextAt
      }
    }
    push(paragraph.slice(sentenceStart))
  }
  return sentences
}
