// Character n-grams as in Cavnar & Trenkle (1994): text is lower-cased, everything but letters and
// inner apostrophes becomes a word break, and each word is padded with one space on each side, so
// " th" (a word start) and "he " (a word end) are features of their own. Shared by the profile
// builder and the classifier so that both see the same features.

/** Typographic apostrophes ("l’homme") are folded into "'", a strong French/Italian/Dutch cue. */
const APOSTROPHES = /[\u2018\u2019\u02bc`]/g
/** Words: letters, optionally joined by apostrophes ("l'homme", "don't", "'s" is dropped at the edge). */
const WORD = /\p{L}+(?:'\p{L}+)*/gu

export function words(text: string): string[] {
  const normalized = text.normalize('NFC').toLowerCase().replace(APOSTROPHES, "'")
  return Array.from(normalized.matchAll(WORD), (match) => match[0])
}

/** Adds the n-grams of `text` for each size in `sizes` to `counts`; returns how many were added. */
export function countNgrams(text: string, sizes: readonly number[], counts: Map<string, number>): number {
  let added = 0
  for (const word of words(text)) {
    // Array.from splits by code point, so a letter outside the BMP is never cut in half.
    const chars = Array.from(` ${word} `)
    for (const n of sizes) {
      for (let i = 0; i + n <= chars.length; i++) {
        const gram = chars.slice(i, i + n).join('')
        if (gram === ' ') continue
        counts.set(gram, (counts.get(gram) ?? 0) + 1)
        added += 1
      }
    }
  }
  return added
}
