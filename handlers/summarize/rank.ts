// Sentence scoring for the extractive summarizer: TextRank (Mihalcea & Tarau, 2004) over a TF-IDF
// cosine-similarity graph.
//
// Scaling: TextRank needs every pairwise similarity, O(n²) in sentences, and a 10 MiB input holds
// ~100k sentences. So the graph is built over at most GRAPH_LIMIT sentences: up to that everything
// is ranked; beyond it, sentences are first scored against the document's TF-IDF centroid (Radev et
// al.'s centroid summarization, O(total words)) and only the best GRAPH_LIMIT by centroid score enter
// the TextRank graph. Total cost: O(words + GRAPH_LIMIT² · words per sentence), so 10 MiB runs in
// seconds. Long loops yield to the event loop so the model host keeps answering /ping, and they
// check the abort signal so a timed-out or abandoned invocation stops.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'

export const GRAPH_LIMIT = 1500
const DAMPING = 0.85
const MAX_ITERATIONS = 100
const CONVERGENCE = 1e-7
const YIELD_EVERY_SENTENCES = 2000

const STOPWORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being ' +
    'below between both but by can could did do does doing down during each few for from further had ' +
    'has have having he her here hers herself him himself his how however i if in into is it its itself ' +
    'just me more most my myself no nor not now of off on once only or other our ours ourselves out over ' +
    'own same she should so some such than that the their theirs them themselves then there these they ' +
    'this those through to too under until up very was we were what when where which while who whom why ' +
    'will with would you your yours yourself yourselves one two may might must shall us also many much'
  ).split(' '),
)
const WORD = /[\p{L}\p{N}]+(?:['’]\p{L}+)?/gu

/** Lower-cased content words with a light plural strip ("models" → "model"). */
export function tokenize(sentence: string): string[] {
  const terms: string[] = []
  for (const word of sentence.toLowerCase().match(WORD) ?? []) {
    if (word.length < 2 || STOPWORDS.has(word)) continue
    terms.push(word.length > 4 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word)
  }
  return terms
}

/** Sentence × term weights in compressed rows: sentence i owns entries offsets[i]..offsets[i+1]. */
interface TermMatrix {
  offsets: Uint32Array
  /** Term ids, ascending within a row. */
  terms: Uint32Array
  /** L2-normalised TF-IDF weights, so a dot product is a cosine similarity. */
  weights: Float32Array
  vocabularySize: number
}

async function pause(signal: AbortSignal | undefined): Promise<void> {
  await yieldToEventLoop()
  signal?.throwIfAborted()
}

async function buildTermMatrix(sentences: readonly string[], signal?: AbortSignal): Promise<TermMatrix> {
  const vocabulary = new Map<string, number>()
  const documentFrequency: number[] = []
  const offsets: number[] = [0]
  const terms: number[] = []
  const counts: number[] = []
  const counter = new Map<number, number>()
  for (let i = 0; i < sentences.length; i++) {
    if (i > 0 && i % YIELD_EVERY_SENTENCES === 0) await pause(signal)
    counter.clear()
    for (const term of tokenize(sentences[i]!)) {
      let id = vocabulary.get(term)
      if (id === undefined) {
        id = documentFrequency.length
        vocabulary.set(term, id)
        documentFrequency.push(0)
      }
      counter.set(id, (counter.get(id) ?? 0) + 1)
    }
    for (const id of [...counter.keys()].sort((a, b) => a - b)) {
      terms.push(id)
      counts.push(counter.get(id)!)
      documentFrequency[id]! += 1
    }
    offsets.push(terms.length)
  }
  const n = sentences.length
  const idf = documentFrequency.map((df) => Math.log((n + 1) / (df + 1)) + 1)
  const weights = new Float32Array(terms.length)
  for (let i = 0; i < n; i++) {
    const start = offsets[i]!
    const end = offsets[i + 1]!
    let norm = 0
    for (let k = start; k < end; k++) {
      const weight = (1 + Math.log(counts[k]!)) * idf[terms[k]!]!
      weights[k] = weight
      norm += weight * weight
    }
    norm = Math.sqrt(norm)
    if (norm > 0) for (let k = start; k < end; k++) weights[k]! /= norm
  }
  return {
    offsets: Uint32Array.from(offsets),
    terms: Uint32Array.from(terms),
    weights,
    vocabularySize: documentFrequency.length,
  }
}

/** Cosine similarity of two already-normalised rows, by merging their sorted term ids. */
function cosine(matrix: TermMatrix, a: number, b: number): number {
  const { offsets, terms, weights } = matrix
  let i = offsets[a]!
  const endA = offsets[a + 1]!
  let j = offsets[b]!
  const endB = offsets[b + 1]!
  let dot = 0
  while (i < endA && j < endB) {
    const termA = terms[i]!
    const termB = terms[j]!
    if (termA === termB) dot += weights[i++]! * weights[j++]!
    else if (termA < termB) i++
    else j++
  }
  return dot
}

/** Each sentence's cosine with the mean TF-IDF vector of the whole text. */
function centroidScores(matrix: TermMatrix, n: number): Float64Array {
  const centroid = new Float64Array(matrix.vocabularySize)
  for (let k = 0; k < matrix.terms.length; k++) centroid[matrix.terms[k]!]! += matrix.weights[k]!
  let norm = 0
  for (const value of centroid) norm += value * value
  norm = Math.sqrt(norm) || 1
  const scores = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let dot = 0
    for (let k = matrix.offsets[i]!; k < matrix.offsets[i + 1]!; k++) {
      dot += matrix.weights[k]! * centroid[matrix.terms[k]!]!
    }
    scores[i] = dot / norm
  }
  return scores
}

/** Weighted PageRank over the similarity graph of the given sentences; one score per node. */
async function textRank(matrix: TermMatrix, nodes: readonly number[], signal?: AbortSignal): Promise<Float64Array> {
  const m = nodes.length
  const edges = new Float32Array(m * m)
  const rowSums = new Float64Array(m)
  for (let a = 0; a < m; a++) {
    if (a > 0 && a % 200 === 0) await pause(signal)
    for (let b = a + 1; b < m; b++) {
      const similarity = cosine(matrix, nodes[a]!, nodes[b]!)
      if (similarity <= 0) continue
      edges[a * m + b] = similarity
      edges[b * m + a] = similarity
      rowSums[a]! += similarity
      rowSums[b]! += similarity
    }
  }
  let scores = new Float64Array(m).fill(1 / m)
  let next = new Float64Array(m)
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    next.fill((1 - DAMPING) / m)
    for (let from = 0; from < m; from++) {
      const rowSum = rowSums[from]!
      if (rowSum === 0) continue // an isolated sentence passes no rank on
      const share = (DAMPING * scores[from]!) / rowSum
      const row = from * m
      for (let to = 0; to < m; to++) next[to]! += edges[row + to]! * share
    }
    let delta = 0
    for (let i = 0; i < m; i++) delta += Math.abs(next[i]! - scores[i]!)
    ;[scores, next] = [next, scores]
    if (delta < CONVERGENCE) break
  }
  return scores
}

/**
 * One score per sentence, higher is more central. Sentences left out of the graph (large inputs)
 * score below every graph member, ordered among themselves by centroid score.
 */
async function rankSentences(matrix: TermMatrix, n: number, signal?: AbortSignal): Promise<Float64Array> {
  let nodes: number[]
  const scores = new Float64Array(n)
  if (n <= GRAPH_LIMIT) {
    nodes = Array.from({ length: n }, (_, i) => i)
  } else {
    const centroid = centroidScores(matrix, n)
    nodes = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => centroid[b]! - centroid[a]! || a - b)
      .slice(0, GRAPH_LIMIT)
    // Cosines are in [0, 1], so this keeps non-members below the (positive) TextRank scores.
    for (let i = 0; i < n; i++) scores[i] = centroid[i]! - 2
  }
  const ranks = await textRank(matrix, nodes, signal)
  nodes.forEach((sentence, node) => {
    scores[sentence] = ranks[node]!
  })
  return scores
}

/** A sentence this close (cosine) to one already chosen adds nothing to the summary. */
export const DUPLICATE_SIMILARITY = 0.9

/**
 * Indices of up to `count` sentences for the summary, in original order: the best ranked first
 * (earlier wins a tie), skipping near-duplicates of sentences already chosen (repeated boilerplate
 * would otherwise dominate TextRank, since identical sentences reinforce each other).
 */
export async function selectSummary(
  sentences: readonly string[],
  count: number,
  signal?: AbortSignal,
  /** Lower-cased sentences already in the summary (an earlier section's): never chosen again. */
  alreadyChosen: ReadonlySet<string> = new Set(),
): Promise<number[]> {
  const n = sentences.length
  if (count <= 0 || n === 0) return []
  const matrix = await buildTermMatrix(sentences, signal)
  const scores = await rankSentences(matrix, n, signal)
  const chosen: number[] = []
  const chosenTexts = new Set<string>(alreadyChosen)
  // Bounds the near-duplicate checks (each costs up to `count` cosines) on adversarial inputs.
  const examined = Math.min(n, 4 * GRAPH_LIMIT)
  const order = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, examined)
  for (const candidate of order) {
    if (chosen.length === count) break
    const text = sentences[candidate]!.toLowerCase()
    if (chosenTexts.has(text)) continue
    if (chosen.some((other) => cosine(matrix, candidate, other) >= DUPLICATE_SIMILARITY)) continue
    chosen.push(candidate)
    chosenTexts.add(text)
  }
  return chosen.sort((a, b) => a - b)
}
