// ListObjectsV2 (list-type=2) and ListObjects (v1): keys in UTF-8 byte order, prefix, delimiter →
// CommonPrefixes, max-keys (≤ 1000, counting keys and prefixes), continuation-token / start-after / marker.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
import { invalidArgument } from './errors.js'
import { isoDate, parseIntParam, requireBucketName, sendXml, type S3Context } from './http-util.js'
import type { ObjectMeta } from './store.js'
import { el, S3_XMLNS } from './xml.js'

interface Cursor {
  /** Last key or common prefix returned. */
  after: string
  /** It was a common prefix: skip every key under it. */
  isPrefix: boolean
}

function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.after, c.isPrefix ? 1 : 0]), 'utf8').toString('base64')
}

function decodeToken(token: string): Cursor {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as unknown
    if (Array.isArray(v) && typeof v[0] === 'string') return { after: v[0], isPrefix: v[1] === 1 }
  } catch {
    // fall through
  }
  throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token)
}

/** First index whose key is ≥ probe (byte order). */
function lowerBound(bufs: Buffer[], probe: Buffer): number {
  let lo = 0
  let hi = bufs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (Buffer.compare(bufs[mid] as Buffer, probe) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

// 0xFF never occurs in UTF-8, so `p + 0xFF` sorts after every key that starts with p.
const AFTER_ALL = Buffer.from([0xff])

export function listObjects(ctx: S3Context, v2: boolean): void {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  const prefix = ctx.query.get('prefix') ?? ''
  const delimiter = ctx.query.get('delimiter') ?? ''
  const maxKeys = parseIntParam(ctx, 'max-keys', 1000, 0, 1000)
  const encodingType = ctx.query.get('encoding-type')
  if (encodingType !== undefined && encodingType !== 'url') throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encodingType)
  const token = v2 ? ctx.query.get('continuation-token') : undefined
  const startAfter = (v2 ? ctx.query.get('start-after') : ctx.query.get('marker')) ?? ''
  // A v1 NextMarker that is a common prefix means "after everything under it".
  const markerIsPrefix = !v2 && delimiter !== '' && startAfter.endsWith(delimiter) && startAfter.length > prefix.length
  let cursor: Cursor | undefined =
    token !== undefined ? decodeToken(token) : startAfter !== '' ? { after: startAfter, isPrefix: markerIsPrefix } : undefined

  const { keys, bufs } = ctx.store.sortedKeys(bucket)
  const prefixBuf = Buffer.from(prefix, 'utf8')
  let i = lowerBound(bufs, prefixBuf)
  if (cursor) {
    const afterBuf = Buffer.from(cursor.after, 'utf8')
    const from = cursor.isPrefix ? lowerBound(bufs, Buffer.concat([afterBuf, AFTER_ALL])) : lowerBound(bufs, Buffer.concat([afterBuf, Buffer.from([0])]))
    i = Math.max(i, from)
  }
  const contents: ObjectMeta[] = []
  const prefixes: string[] = []
  let last: Cursor | undefined
  while (i < keys.length && contents.length + prefixes.length < maxKeys) {
    const key = keys[i] as string
    if (!key.startsWith(prefix)) break
    const d = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length)
    if (d >= 0) {
      const cp = key.slice(0, d + delimiter.length)
      prefixes.push(cp)
      last = { after: cp, isPrefix: true }
      i = lowerBound(bufs, Buffer.concat([Buffer.from(cp, 'utf8'), AFTER_ALL]))
      continue
    }
    const obj = bucket.objects.get(key)
    if (obj) contents.push(obj.meta)
    last = { after: key, isPrefix: false }
    i++
  }
  const truncated = i < keys.length && (keys[i] as string).startsWith(prefix) && maxKeys > 0
  cursor = last

  const enc = (s: string): string => (encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s)
  const fetchOwner = v2 ? ctx.query.get('fetch-owner') === 'true' : true
  const owner = `<Owner>${el('ID', ctx.owner.id)}${el('DisplayName', ctx.owner.displayName)}</Owner>`
  const contentsXml = contents
    .map(
      (m) =>
        `<Contents>${el('Key', enc(m.key))}${el('LastModified', isoDate(m.lastModifiedMs))}${el('ETag', m.etag)}` +
        `${m.checksum ? el('ChecksumAlgorithm', m.checksum.algorithm) + el('ChecksumType', m.checksum.type) : ''}` +
        `${el('Size', m.sizeBytes)}${fetchOwner ? owner : ''}${el('StorageClass', 'STANDARD')}</Contents>`,
    )
    .join('')
  const cpXml = prefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('')
  const common =
    `${el('Name', bucket.name)}${el('Prefix', enc(prefix))}${delimiter !== '' ? el('Delimiter', enc(delimiter)) : ''}` +
    `${el('MaxKeys', maxKeys)}${encodingType ? el('EncodingType', encodingType) : ''}${el('IsTruncated', truncated)}`
  let paging: string
  if (v2) {
    paging =
      `${el('KeyCount', contents.length + prefixes.length)}` +
      `${token !== undefined ? el('ContinuationToken', token) : ''}` +
      `${truncated && cursor ? el('NextContinuationToken', encodeToken(cursor)) : ''}` +
      `${startAfter !== '' ? el('StartAfter', enc(startAfter)) : ''}`
  } else {
    // V1 returns NextMarker only with a delimiter; clients use the last key otherwise.
    paging = `${el('Marker', enc(startAfter))}${truncated && cursor && delimiter !== '' ? el('NextMarker', enc(cursor.after)) : ''}`
  }
  sendXml(ctx, 200, `<ListBucketResult xmlns="${S3_XMLNS}">${common}${paging}${contentsXml}${cpXml}</ListBucketResult>`)
}
