// The Hugging Face text-pipeline request shape shared by the text handlers (sentiment, language-id):
// `text/plain`, or `application/json` `{"inputs": "text"}` / `{"inputs": ["t1", "t2"]}`. A string
// answers with one result, a list with one result per item, as the HF pipelines do.
// A request that declares no content type (or only application/octet-stream) is read from its body,
// see readTextBody: the seeds' InvokeEndpointAsync calls send none.
import { HandlerError, type InvocationBody, isHandlerError, mediaType, negotiateAccept, requireContentType } from './handler.js'

export const TEXT_CONTENT_TYPES = ['text/plain', 'application/json'] as const
/** InvokeEndpoint's payload limit (6 MiB, see sagemaker-notes.md): these models are real-time only. */
export const MAX_TEXT_INPUT_BYTES = 6 * 1024 * 1024

export interface TextInputs {
  texts: string[]
  /** True when the request sent a list, so the answer is one entry per item. */
  isList: boolean
}

function invalid(message: string): HandlerError {
  return new HandlerError(400, message)
}

/** body.text() decodes UTF-8; a body declared in another charset would be misread, so refuse it (415). */
function requireUtf8(contentType: string): void {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)
  const charset = match?.[1]?.toLowerCase()
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
    throw new HandlerError(415, `unsupported charset ${charset}; send the text as UTF-8`)
  }
}

function requireText(value: unknown, where: string, what: string): string {
  if (typeof value !== 'string') throw invalid(`${where} must be a string (the ${what}), got ${describe(value)}`)
  if (value.trim() === '') throw invalid(`${where} is empty: there is no ${what}`)
  return value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function parseJson(raw: string, what: string): TextInputs {
  let request: unknown
  try {
    request = JSON.parse(raw)
  } catch (err) {
    throw new HandlerError(400, `invalid JSON body: ${(err as Error).message}`, { cause: err })
  }
  const example = `{"inputs": "${what}"} or {"inputs": ["...", "..."]}`
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw invalid(`the JSON body must be an object like ${example}, got ${describe(request)}`)
  }
  const { inputs } = request as { inputs?: unknown }
  if (inputs === undefined) throw invalid(`the JSON body has no "inputs"; send ${example}`)
  if (!Array.isArray(inputs)) return { texts: [requireText(inputs, '"inputs"', what)], isList: false }
  if (inputs.length === 0) throw invalid('"inputs" is an empty list')
  return { texts: inputs.map((item, i) => requireText(item, `"inputs"[${i}]`, what)), isList: true }
}

/**
 * Content types that say nothing about the body: none (InvokeEndpointAsync without ContentType reaches
 * the container without one) or the generic application/octet-stream. RFC 9110 §8.3: without a
 * Content-Type a recipient may assume application/octet-stream or examine the data; this examines it.
 * (A JSON body is parsed twice then, once to decide and once to read: only on this path.)
 */
const UNDECLARED_TYPES = new Set(['', 'application/octet-stream'])

export type TextBodyType = (typeof TEXT_CONTENT_TYPES)[number]

/**
 * The type of an undeclared text body, decided from the body as the Hugging Face toolkit's text
 * pipelines do: a JSON object with "inputs" is the JSON request shape, anything else is plain text.
 */
export function sniffTextType(raw: string): TextBodyType {
  if (!raw.trimStart().startsWith('{')) return 'text/plain'
  try {
    const parsed: unknown = JSON.parse(raw)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'inputs' in parsed) return 'application/json'
  } catch {
    // not JSON: plain text that happens to start with a brace
  }
  return 'text/plain'
}

/**
 * Reads a text body and its type. A declared type must be one of TEXT_CONTENT_TYPES (else 415) in
 * UTF-8 (else 415), checked before the body is read; an undeclared one (see UNDECLARED_TYPES) is
 * decided by sniffTextType, and a body that is not UTF-8 text is then a 415 (it is no text type)
 * rather than the 400 a declared text body gets. `beforeRead` runs after the type checks and before
 * the body is read (an Accept check, so an answer that cannot be delivered fails early).
 */
export async function readTextBody(
  body: InvocationBody,
  contentType: string,
  maxBytes: number,
  beforeRead: () => void = () => {},
): Promise<{ type: TextBodyType; raw: string }> {
  if (!UNDECLARED_TYPES.has(mediaType(contentType))) {
    const type = requireContentType(contentType, TEXT_CONTENT_TYPES) as TextBodyType
    requireUtf8(contentType)
    beforeRead()
    return { type, raw: await body.text(maxBytes) }
  }
  beforeRead()
  let raw: string
  try {
    raw = await body.text(maxBytes)
  } catch (err) {
    if (!isHandlerError(err) || err.statusCode !== 400) throw err // 413 stays a 413
    const got = mediaType(contentType) === '' ? 'no content type' : `content type ${mediaType(contentType)}`
    throw new HandlerError(415, `unsupported ${got} with a body that is not UTF-8 text; this model accepts ${TEXT_CONTENT_TYPES.join(', ')}`, { cause: err })
  }
  return { type: sniffTextType(raw), raw }
}

/**
 * Validates and reads a text request. `what` names the text in error messages ("text to classify").
 * Errors: unsupported content type or charset → 415, an Accept other than JSON → 406, anything
 * malformed or empty → 400. No content type: decided from the body (readTextBody).
 */
export async function readTextInputs(
  body: InvocationBody,
  contentType: string,
  accept: string,
  what: string,
): Promise<TextInputs> {
  // Fail before reading the body when the answer could not be delivered anyway (RFC 9110 §15.5.7).
  const { type, raw } = await readTextBody(body, contentType, MAX_TEXT_INPUT_BYTES, () => {
    negotiateAccept(accept, ['application/json'], 'application/json')
  })
  if (type === 'application/json') return parseJson(raw, what)
  return { texts: [requireText(raw, 'the text/plain body', what)], isList: false }
}
