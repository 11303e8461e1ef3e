/**
 * `If-None-Match` (RFC 9110 §13.1.2): `*`, or a list of entity tags compared weakly (§8.8.3.2: two
 * tags match when their opaque tags are equal, whether either is marked `W/`). Written here rather
 * than taken from `fresh` (Express's), which also refuses any request with `Cache-Control: no-cache`
 * and splits the list on every comma, although a comma is a legal character inside an entity tag.
 */

const OPAQUE_TAG = /"[^"]*"/g

/** True when the condition fails, i.e. the client's copy is current (GET/HEAD then answer 304). */
export function ifNoneMatchMatches(header: string, etag: string | undefined): boolean {
  // `*` matches any current representation; callers ask only once the output exists.
  if (header.trim() === '*') return true
  if (etag === undefined) return false
  const mine = /^(?:W\/)?("[^"]*")$/.exec(etag.trim())?.[1]
  if (mine === undefined) return false
  // Every quoted tag in the list, with or without its W/ prefix (weak comparison ignores it).
  for (const [tag] of header.matchAll(OPAQUE_TAG)) if (tag === mine) return true
  return false
}
