// Map-reduce summarization for the streamed answer (SUMMARIZE_STREAM=true). Ranking a whole long text
// before the first line is sent makes streaming pointless (the first line came at 458 of 477 ms on a
// 535 KB text). So a long text is cut into contiguous sections (map): each is ranked on its own and
// its lines are yielded as soon as they exist; the reduce step is the concatenation, in text order.
// The summary's sentence budget (summaryLength) is shared out over the sections, so the answer has as
// many lines as the whole answer would. A text under 2 × MIN_SECTION_SENTENCES is one section and gets
// the whole answer's sentences; a longer one may get others (each section's best, not the text's).
// Ranking per section also costs less than ranking the whole text: TextRank is quadratic in the
// sentences it ranks (see rank.ts).
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { selectSummary } from './rank.js'

/**
 * A section holds at least this many sentences: enough for TextRank to find what is central in it.
 * A text under twice this is one section, ranked exactly as the whole answer ranks it.
 */
export const MIN_SECTION_SENTENCES = 200

export interface Section {
  /** Sentence indices [start, end) of the text. */
  start: number
  end: number
  /** How many of its sentences go into the summary (at least 1). */
  count: number
}

/**
 * Cuts `sentenceCount` sentences into at most `count` contiguous sections of at least
 * MIN_SECTION_SENTENCES each, and shares `count` summary sentences out evenly (each section gets at
 * least one, so every section sends a line). From three sections on, the first is half the size of
 * the others (but not under the minimum): it is the one the client waits for before anything arrives.
 */
export function planSections(sentenceCount: number, count: number): Section[] {
  if (sentenceCount <= 0 || count <= 0) return []
  const sectionCount = Math.max(1, Math.min(count, Math.floor(sentenceCount / MIN_SECTION_SENTENCES)))
  const evenEnd = (i: number, total: number, parts: number) => Math.floor((i * total) / parts)
  const firstEnd =
    sectionCount < 3 ? evenEnd(1, sentenceCount, sectionCount) : Math.max(MIN_SECTION_SENTENCES, Math.floor(sentenceCount / sectionCount / 2))
  // Boundary i (0..sectionCount): 0, the end of the first section, then the rest cut evenly.
  const boundary = (i: number) =>
    i === 0 ? 0 : i === 1 ? firstEnd : firstEnd + evenEnd(i - 1, sentenceCount - firstEnd, sectionCount - 1)
  return Array.from({ length: sectionCount }, (_, i) => ({
    start: boundary(i),
    end: boundary(i + 1),
    count: evenEnd(i + 1, count, sectionCount) - evenEnd(i, count, sectionCount),
  }))
}

/**
 * Each section's summary sentences, in text order, one section at a time: a section is ranked only
 * when the previous one's lines have been taken (and, between sections, the event loop runs so those
 * lines reach the socket). A sentence already sent by an earlier section (same text) is not repeated.
 */
export async function* summarizeSections(
  sentences: readonly string[],
  sections: readonly Section[],
  signal: AbortSignal,
): AsyncGenerator<string[]> {
  const sent = new Set<string>()
  for (const [index, section] of sections.entries()) {
    if (index > 0) await yieldToEventLoop()
    signal.throwIfAborted()
    const slice = sentences.slice(section.start, section.end)
    const chosen = (await selectSummary(slice, section.count, signal, sent)).map((i) => slice[i]!)
    for (const sentence of chosen) sent.add(sentence.toLowerCase())
    yield chosen
  }
}
