import { parseMediaType } from './media-type.js'

/**
 * How model output is served so that a browser cannot run it (DESIGN.md "Closed by default"). The
 * output is untrusted bytes under the gateway's origin: an HTML, SVG, XML or script result opened
 * in a browser would run with that origin's cookies and storage. So every result is sent with
 * `nosniff` (the declared type is final), `Content-Security-Policy: sandbox` (a document that is
 * rendered anyway gets a unique origin and no script), `Cache-Control: private, no-store`, and as an
 * attachment unless its type is one a browser only displays.
 */

/** Exact types a browser displays without running anything (RFC 6839 `+json` is checked apart). */
const INERT_TYPES = new Set(['application/json', 'text/plain'])
/** Top-level types a browser decodes as media; `image/svg+xml` is a document with script, not media. */
const INERT_TOP_LEVEL = new Set(['image', 'audio', 'video'])
const ACTIVE_IMAGE_TYPES = new Set(['image/svg+xml'])

/** File extensions for the attachment's name, for the types most often seen; others get none. */
const EXTENSIONS: Record<string, string> = {
  'text/html': 'html',
  'application/xhtml+xml': 'xhtml',
  'image/svg+xml': 'svg',
  'text/xml': 'xml',
  'application/xml': 'xml',
  'application/javascript': 'js',
  'text/javascript': 'js',
  'application/pdf': 'pdf',
  'application/octet-stream': 'bin',
  'text/csv': 'csv',
  'application/zip': 'zip',
}

/** The stored type parses and is one a browser only displays. Unparseable or absent: not inline. */
export function isInlineSafe(contentType: string | undefined): boolean {
  const essence = parseMediaType(contentType)?.essence
  if (essence === undefined) return false
  if (INERT_TYPES.has(essence) || essence.endsWith('+json')) return true
  const top = essence.slice(0, essence.indexOf('/'))
  return INERT_TOP_LEVEL.has(top) && !ACTIVE_IMAGE_TYPES.has(essence)
}

/** `<name>.<ext>` for a known type, `<name>` otherwise; a name that is not a plain token becomes `result`. */
export function attachmentFilename(name: string, contentType: string | undefined): string {
  const base = /^[A-Za-z0-9_-]{1,64}$/.test(name) ? name : 'result'
  const ext = EXTENSIONS[parseMediaType(contentType)?.essence ?? '']
  return ext === undefined ? base : `${base}.${ext}`
}

/**
 * The headers every answer about a result carries (200, 206, HEAD and 304 alike). `name` is the base
 * of the download's filename (the job id).
 */
export function protectiveHeaders(contentType: string | undefined, name: string): Record<string, string> {
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    // The output may be private to its tenant: no shared cache may keep it, nor the browser's disk.
    'cache-control': 'private, no-store',
    'content-security-policy': 'sandbox',
  }
  // The filename is built from [A-Za-z0-9_.-] only, so it needs no RFC 6266 escaping.
  if (!isInlineSafe(contentType)) headers['content-disposition'] = `attachment; filename="${attachmentFilename(name, contentType)}"`
  return headers
}
