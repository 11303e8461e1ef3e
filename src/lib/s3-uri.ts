export interface S3Location {
  bucket: string
  key: string
}

/** `s3://bucket/key` — the form SageMaker uses for InputLocation and OutputLocation. */
export const formatS3Uri = (loc: S3Location): string => `s3://${loc.bucket}/${loc.key}`

/**
 * Parses `s3://bucket/key`, and the https forms S3 uses (virtual-hosted `bucket.s3.region.amazonaws.com/key`
 * and path-style `host/bucket/key`, the latter also for local endpoints).
 */
export function parseS3Uri(uri: string): S3Location | undefined {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
  if (s3 !== null) return { bucket: s3[1]!, key: s3[2]! }
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  let path: string
  try {
    path = decodeURIComponent(url.pathname.slice(1))
  } catch {
    return undefined // a malformed %-escape
  }
  const virtual = /^(.+)\.s3[.-]/.exec(url.hostname)
  if (virtual !== null) return path === '' ? undefined : { bucket: virtual[1]!, key: path }
  const slash = path.indexOf('/')
  return slash <= 0 || slash === path.length - 1 ? undefined : { bucket: path.slice(0, slash), key: path.slice(slash + 1) }
}

/** `s3://bucket/prefix/` (or `s3://bucket/`) → bucket and key prefix (possibly empty). */
export function parseS3Prefix(uri: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)
  return m === null ? undefined : { bucket: m[1]!, prefix: m[2]! }
}
