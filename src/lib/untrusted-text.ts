/**
 * Text the gateway did not write (a model's error body, a header) is clipped before it goes into a
 * problem's details or a log line, and loses its control characters before it goes into a log
 * (DESIGN.md: untrusted text is validated, clipped and never echoed raw into logs or headers).
 */

/** How much of a model's own text is kept. */
export const MODEL_TEXT_MAX_CHARS = 2000

/** At most `maxChars` UTF-16 units, then `…`; a surrogate pair is never cut in half. */
export function clipText(text: string, maxChars = MODEL_TEXT_MAX_CHARS): string {
  if (text.length <= maxChars) return text
  let end = maxChars
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end -= 1
  return `${text.slice(0, end)}…`
}

// C0, DEL and C1 controls (newlines and escapes that could forge or colour log lines), and the
// bidirectional overrides and isolates that make a line read differently from its bytes.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]+/g

/** For a log field: every run of control characters becomes one space, then the text is clipped. */
export function logSafeText(text: string, maxChars = MODEL_TEXT_MAX_CHARS): string {
  return clipText(text.replace(CONTROLS, ' ').trim(), maxChars)
}
