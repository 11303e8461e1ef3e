// The Hugging Face text-pipeline request shape shared by the text handlers (sentiment, language-id):
// `text/plain`, or `application/json` `{"inputs": "text"}` / `{"inputs": ["t1", "t2"]}`. A string
// answers with one result, a list with one result per item, as the HF pipelines do.
import { HandlerError, type InvocationBody, negotiateAccept, requireContentType } from './handler.js'

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
 * Validates and reads a text request. `what` names the text in error messages ("text to classify").
 * Errors: unsupported content type or charset → 415, an Accept other than JSON → 406, anything
 * malformed or empty → 400.
 */
export async function readTextInputs(
  body: InvocationBody,
  contentType: string,
  accept: string,
  what: string,
): Promise<TextInputs> {
  const type = requireContentType(contentType, TEXT_CONTENT_TYPES)
  requireUtf8(contentType)
  // Fail before reading the body when the answer could not be delivered anyway (RFC 9110 §15.5.7).
  negotiateAccept(accept, ['application/json'], 'application/json')
  const raw = await body.text(MAX_TEXT_INPUT_BYTES)
  if (type === 'application/json') return parseJson(raw, what)
  return { texts: [requireText(raw, 'the text/plain body', what)], isList: false }
}
