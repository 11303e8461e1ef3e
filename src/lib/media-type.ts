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

/** True when `essence` is in `accepted`, which may hold wildcards such as `text/*`. */
export function isAcceptedType(essence: string, accepted: readonly string[]): boolean {
  return accepted.some((a) => a === essence || a === '*/*' || (a.endsWith('/*') && essence.startsWith(a.slice(0, -1))))
}
