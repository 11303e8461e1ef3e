/** Media type helpers (RFC 9110 §8.3.1: type/subtype are case-insensitive; parameters follow ";"). */

export interface MediaType {
  essence: string
  parameters: Record<string, string>
}

export function parseMediaType(header: string | undefined): MediaType | undefined {
  if (header === undefined) return undefined
  const [essence = '', ...params] = header.split(';')
  const e = essence.trim().toLowerCase()
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(e)) return undefined
  const parameters: Record<string, string> = {}
  for (const p of params) {
    const eq = p.indexOf('=')
    if (eq <= 0) continue
    parameters[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
  }
  return { essence: e, parameters }
}

/** Types by file name extension, for form parts sent without a useful type (curl -F without ;type=). */
const BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  txt: 'text/plain',
  text: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  htm: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  pdf: 'application/pdf',
}

/** The media type a file name's extension stands for, if it is a common one. */
export function typeFromFilename(filename: string | undefined): string | undefined {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(filename ?? '')?.[1]
  return ext === undefined ? undefined : BY_EXTENSION[ext.toLowerCase()]
}

/** True when `essence` is in `accepted`, which may hold wildcards such as `text/*`. */
export function isAcceptedType(essence: string, accepted: readonly string[]): boolean {
  return accepted.some((a) => a === essence || a === '*/*' || (a.endsWith('/*') && essence.startsWith(a.slice(0, -1))))
}
