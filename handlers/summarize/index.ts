// summarize: an extractive summarizer with the Hugging Face container's wire shape. It takes
// text/plain, or application/json `{"inputs": "...", "parameters": {"max_sentences"?, "ratio"?}}`,
// and answers `[{"summary_text": "..."}]`; with no content type (the seeds' InvokeEndpointAsync
// calls send none) the body decides, as in the Hugging Face toolkit (see readTextBody). Sentences
// are ranked by TextRank (see rank.ts) and the best ones are returned in their original order.
// With SUMMARIZE_STREAM=true in the container's environment (the real-time `summarize-live`
// endpoint), the answer is streamed instead: `application/jsonlines`, one `{"summary_text": ...}`
// line per selected sentence, each its own chunk. A long text is then summarized section by section
// (map-reduce, see sections.ts) and each section's lines are sent as soon as they are ranked, so
// InvokeEndpointWithResponseStream callers get the first line long before the last section is done.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import {
  type AnyHandlerOutput,
  type ContainerEnv,
  type Handler,
  HandlerError,
  negotiateAccept,
} from '../handler.js'
import { readTextBody, TEXT_CONTENT_TYPES } from '../text-inputs.js'
import { selectSummary } from './rank.js'
import { planSections, type Section, summarizeSections } from './sections.js'
import { splitSentences } from './sentences.js'

export const CONTENT_TYPES = TEXT_CONTENT_TYPES
/** The async model takes up to 10 MiB; this cap only protects the host's memory. */
export const MAX_INPUT_BYTES = 32 * 1024 * 1024
/** Keeps the answer bounded whatever `ratio` asks for. */
export const MAX_SUMMARY_SENTENCES = 500

export interface SummaryParameters {
  maxSentences?: number
  ratio?: number
}

export interface SummaryInput extends SummaryParameters {
  text: string
}

/** The container's setting, read once by modelFn (env SUMMARIZE_STREAM=true). */
export interface SummarizeModel {
  stream: boolean
}

/** A whole answer: the text ranked at once. */
export interface WholeSummary {
  contentType: 'application/json'
  summaryText: string
  /** The selected sentences, in their original order. */
  sentences: string[]
}

/** A streamed answer: nothing is ranked yet; outputFn ranks section by section as it sends. */
export interface SectionedSummary {
  contentType: typeof JSON_LINES
  /** Every sentence of the text. */
  sentences: string[]
  sections: Section[]
}

/** Told apart by the negotiated answer type: application/jsonlines is streamed, application/json is whole. */
export type SummaryPrediction = WholeSummary | SectionedSummary

export const JSON_LINES = 'application/jsonlines' as const

/**
 * A streaming container answers JSON lines by default (`*\/*` or no Accept) and still honours an
 * explicit `Accept: application/json` with the whole answer; a buffered one produces JSON only.
 */
export function answerType(accept: string, stream: boolean): string {
  return stream
    ? negotiateAccept(accept, [JSON_LINES, 'application/json'], JSON_LINES)
    : negotiateAccept(accept, ['application/json'], 'application/json')
}

/**
 * One line per selected sentence, each yielded as its own chunk, a section's lines as soon as that
 * section is ranked. Between lines it yields to the event loop, so each line is handed to the socket
 * (and flushed) before the next is produced rather than all of them being written in one go.
 */
async function* summaryLines(prediction: SectionedSummary, signal: AbortSignal): AsyncGenerator<string> {
  let lines = 0
  for await (const chosen of summarizeSections(prediction.sentences, prediction.sections, signal)) {
    for (const sentence of chosen) {
      if (lines++ > 0) await yieldToEventLoop()
      signal.throwIfAborted()
      yield `${JSON.stringify({ summary_text: sentence })}\n`
    }
  }
}

function invalid(message: string): HandlerError {
  return new HandlerError(400, message)
}

function parseMaxSentences(value: unknown, source: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > MAX_SUMMARY_SENTENCES) {
    throw invalid(`${source}max_sentences must be an integer from 1 to ${MAX_SUMMARY_SENTENCES}`)
  }
  return number
}

function parseRatio(value: unknown, source: string): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0 || number > 1) {
    throw invalid(`${source}ratio must be a number greater than 0 and at most 1`)
  }
  return number
}

/** Parameters from a source (JSON `parameters` or custom attributes); unknown keys are ignored. */
function parseParameters(values: Record<string, unknown>, source: string): SummaryParameters {
  const parameters: SummaryParameters = {}
  if (values.max_sentences !== undefined) parameters.maxSentences = parseMaxSentences(values.max_sentences, source)
  if (values.ratio !== undefined) parameters.ratio = parseRatio(values.ratio, source)
  return parameters
}

function parseJsonRequest(raw: string): { text: unknown; parameters: SummaryParameters } {
  let request: unknown
  try {
    request = JSON.parse(raw)
  } catch (err) {
    throw new HandlerError(400, `invalid JSON body: ${(err as Error).message}`, { cause: err })
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw invalid('the JSON body must be an object like {"inputs": "text to summarize"}')
  }
  const { inputs, parameters } = request as { inputs?: unknown; parameters?: unknown }
  if (inputs === undefined) throw invalid('the JSON body has no "inputs" (the text to summarize)')
  if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))) {
    throw invalid('"parameters" must be an object')
  }
  return { text: inputs, parameters: parseParameters((parameters ?? {}) as Record<string, unknown>, 'parameters.') }
}

/**
 * How many sentences to keep: explicit parameters win (max_sentences caps ratio when both are set);
 * otherwise 3, or about 20% for texts over 15 sentences, capped at 10.
 */
export function summaryLength(sentenceCount: number, parameters: SummaryParameters): number {
  let count: number
  if (parameters.ratio !== undefined) {
    count = Math.max(1, Math.round(sentenceCount * parameters.ratio))
    if (parameters.maxSentences !== undefined) count = Math.min(count, parameters.maxSentences)
  } else if (parameters.maxSentences !== undefined) {
    count = parameters.maxSentences
  } else {
    count = sentenceCount <= 15 ? 3 : Math.min(10, Math.round(sentenceCount * 0.2))
  }
  return Math.min(count, sentenceCount, MAX_SUMMARY_SENTENCES)
}

export const handler: Handler<SummarizeModel, SummaryInput, SummaryPrediction, AnyHandlerOutput> = {
  modelFn(_modelDir, env?: ContainerEnv) {
    // Nothing to load (the "model" is the algorithm); only how to answer is configured.
    return { stream: env?.SUMMARIZE_STREAM === 'true' }
  },

  async inputFn(body, contentType, ctx) {
    const { type, raw } = await readTextBody(body, contentType, MAX_INPUT_BYTES)
    // For text/plain the parameters can come as custom attributes (`max_sentences=2`).
    let parameters = parseParameters(ctx.customAttributes, 'custom attribute ')
    let text: unknown = raw
    if (type === 'application/json') {
      const request = parseJsonRequest(raw)
      text = request.text
      parameters = { ...parameters, ...request.parameters }
    }
    if (typeof text !== 'string') throw invalid('"inputs" must be a string')
    if (text.trim() === '') throw invalid('the text to summarize is empty')
    return { text, ...parameters }
  },

  async predictFn(input, model, ctx): Promise<SummaryPrediction> {
    // Before ranking, which is the expensive part: an Accept this model cannot answer is a 406.
    const contentType = answerType(ctx.accept, model.stream)
    const sentences = splitSentences(input.text)
    const count = summaryLength(sentences.length, input)
    if (contentType === JSON_LINES) {
      // Streamed: only planned here; the ranking runs section by section while the answer is sent.
      const sections = planSections(sentences.length, count)
      ctx.logger.debug({ sentences: sentences.length, sections: sections.length }, 'summary planned')
      return { contentType, sentences, sections }
    }
    const chosen = await selectSummary(sentences, count, ctx.signal)
    ctx.logger.debug({ sentences: sentences.length, chosen: chosen.length }, 'summarized')
    const selected = chosen.map((i) => sentences[i]!)
    return { contentType: 'application/json', summaryText: selected.join(' '), sentences: selected }
  },

  outputFn(prediction, _accept, ctx): AnyHandlerOutput {
    if (prediction.contentType === JSON_LINES) return { stream: summaryLines(prediction, ctx.signal), contentType: JSON_LINES }
    return { body: JSON.stringify([{ summary_text: prediction.summaryText }]), contentType: prediction.contentType }
  },
}
