/** A small deterministic PRNG (mulberry32): the same numbers for the same seed, run after run. */
export function mulberry32(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

export const WORDS = (
  'river mountain ocean forest city village market harbor engine signal network model data storm ' +
  'bridge tower garden station library museum school hospital factory farm desert island valley ' +
  'council budget transport energy solar battery railway airport weather season harvest festival'
).split(' ')

/** Deterministic pseudo-random sentences of 6-19 words from `words`, about `bytes` long. */
export function generateText(bytes: number, options: { seed: number; words?: readonly string[] }): string {
  const random = mulberry32(options.seed)
  const words = options.words ?? WORDS
  const parts: string[] = []
  let size = 0
  while (size < bytes) {
    const picked = Array.from({ length: 6 + Math.floor(random() * 14) }, () => words[Math.floor(random() * words.length)])
    const sentence = `The ${picked.join(' ')}. `
    parts.push(sentence)
    size += sentence.length
  }
  return parts.join('')
}
