// PutObject, GetObject, HeadObject, DeleteObject, CopyObject.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { checksumHeaderName, checksumMemberName } from './checksums.js'
import { invalidArgument, invalidRequest, noSuchBucket, noSuchKey, preconditionFailed, S3Error } from './errors.js'
import {
  baseHeaders,
  evaluateConditions,
  httpDate,
  header,
  isoDate,
  objectHeaders,
  parseRange,
  representationFromHeaders,
  requireBucketName,
  requireKey,
  sendEmpty,
  sendXml,
  continueBody,
  type S3Context,
} from './http-util.js'
import { ingestBody, ingestBodyToMemory, parseIngestSpec, SMALL_BODY_BYTES, type IngestResult, type IngestSpec } from './ingest.js'
import { readSegments, readSegmentsSync } from './object-reader.js'
import type { Bucket, ObjectMeta, PutSource, StoredObject } from './store.js'
import { el, S3_XMLNS } from './xml.js'

/** Conditional writes (PutObject / CompleteMultipartUpload): If-None-Match: * and If-Match. */
export function writeCondition(h: IncomingHttpHeaders): ((current: ObjectMeta | undefined) => void) | undefined {
  const ifNoneMatch = header(h, 'if-none-match')
  const ifMatch = header(h, 'if-match')
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'If-None-Match' })
  }
  return (current) => {
    if (ifNoneMatch !== undefined && current) throw preconditionFailed('If-None-Match')
    if (ifMatch !== undefined) {
      if (!current) throw noSuchKey('')
      if (evaluateConditions((n) => (n === 'if-match' ? ifMatch : undefined), current) !== 'ok') throw preconditionFailed('If-Match')
    }
  }
}

/** Receives the body into a temp file; the file is gone again if this throws. */
export async function receiveToTmp(ctx: S3Context, spec: IngestSpec): Promise<{ tmpPath: string; received: IngestResult }> {
  continueBody(ctx)
  const tmpPath = ctx.store.newTmpPath()
  const received = await ingestBody(ctx.req, tmpPath, spec)
  return { tmpPath, received }
}

export function checksumResponseHeaders(c: { algorithm: Parameters<typeof checksumHeaderName>[0]; value: string } | undefined): Record<string, string> {
  return c ? { [checksumHeaderName(c.algorithm)]: c.value, 'x-amz-checksum-type': 'FULL_OBJECT' } : {}
}

export async function putObject(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  const key = requireKey(ctx)
  const spec = parseIngestSpec(ctx.req, ctx.auth)
  const rep = representationFromHeaders(ctx.req.headers)
  const condition = writeCondition(ctx.req.headers)
  // Refuse early (before 100-continue) when the condition already fails; it is checked again at commit.
  condition?.(bucket.objects.get(key)?.meta)
  // A small body is received into memory and written at commit; a larger one streams to a temp file.
  let received: IngestResult
  let source: PutSource
  let tmpPath: string | undefined
  if (spec.lengthBytes <= SMALL_BODY_BYTES) {
    continueBody(ctx)
    const got = await ingestBodyToMemory(ctx.req, spec)
    received = got.received
    source = { data: got.body, sizeBytes: received.sizeBytes }
  } else {
    const got = await receiveToTmp(ctx, spec)
    tmpPath = got.tmpPath
    received = got.received
    source = { path: tmpPath, sizeBytes: received.sizeBytes }
  }
  try {
    await ctx.store.putObject(bucket, {
      key,
      mode: 'rename',
      sources: [source],
      meta: {
        ...rep,
        sizeBytes: received.sizeBytes,
        etag: `"${received.md5Hex}"`,
        ...(received.checksum ? { checksum: { ...received.checksum, type: 'FULL_OBJECT' as const } } : {}),
      },
      ...(condition ? { condition } : {}),
    })
  } catch (err) {
    if (tmpPath !== undefined) await ctx.store.removeFile(tmpPath)
    throw err
  }
  sendEmpty(ctx, 200, { etag: `"${received.md5Hex}"`, ...checksumResponseHeaders(received.checksum) })
}

export async function getObject(ctx: S3Context, headOnly: boolean): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  const key = requireKey(ctx)
  const obj = bucket.objects.get(key)
  if (!obj) throw noSuchKey(key)
  const meta = obj.meta
  const cond = evaluateConditions((n) => header(ctx.req.headers, n), meta)
  if (cond === 'precondition-failed') throw preconditionFailed(header(ctx.req.headers, 'if-match') !== undefined ? 'If-Match' : 'If-Unmodified-Since')
  if (cond === 'not-modified') {
    sendEmpty(ctx, 304, { etag: meta.etag, 'last-modified': httpDate(meta.lastModifiedMs) })
    return
  }

  let start = 0
  let end = meta.sizeBytes - 1
  let partial = false
  const extra: Record<string, string | number> = {}
  const partNumberRaw = ctx.query.get('partNumber')
  if (partNumberRaw !== undefined) {
    // GetObject?partNumber=N returns that part (a simple object has exactly one part).
    const n = Number(partNumberRaw)
    const count = meta.partsCount ?? 1
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', partNumberRaw)
    if (n > count) throw new S3Error(416, 'InvalidPartNumber', 'The requested partnumber is not satisfiable', { PartNumberRequested: String(n), ActualPartCount: String(count) })
    if (meta.partsCount !== undefined) {
      // Only a multipart object's segments are its parts (a copy of one shares them but is single-part),
      // and "PartsCount is only returned if ... the object was uploaded as a multipart upload".
      start = meta.segments.slice(0, n - 1).reduce((s, seg) => s + seg.sizeBytes, 0)
      end = start + (meta.segments[n - 1]?.sizeBytes ?? 0) - 1
      partial = true
      extra['x-amz-mp-parts-count'] = count
    }
  } else {
    const range = parseRange(header(ctx.req.headers, 'range'), meta.sizeBytes)
    if (range.kind === 'unsatisfiable') {
      throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { RangeRequested: header(ctx.req.headers, 'range') ?? '', ActualObjectSize: String(meta.sizeBytes) }, { headers: { 'content-range': `bytes */${meta.sizeBytes}` } })
    }
    if (range.kind === 'range') {
      start = range.start
      end = range.end
      partial = true
    }
  }
  const length = Math.max(0, end - start + 1)
  const checksumMode = header(ctx.req.headers, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED'
  const headers = {
    ...objectHeaders(meta, ctx.query, checksumMode && !partial),
    'content-length': length,
    ...(partial ? { 'content-range': `bytes ${start}-${end}/${meta.sizeBytes}` } : {}),
    ...extra,
  }
  if (headOnly) {
    sendEmpty(ctx, partial ? 206 : 200, headers)
    return
  }
  if (length <= SMALL_BODY_BYTES) {
    // Read synchronously before the head is sent: a read failure is still an S3 error document.
    const body = readObjectSync(ctx, bucket, obj, start, end)
    ctx.res.writeHead(partial ? 206 : 200, { ...baseHeaders(ctx), ...headers })
    ctx.res.end(body)
    return
  }
  ctx.res.writeHead(partial ? 206 : 200, { ...baseHeaders(ctx), ...headers })
  await streamObject(ctx, bucket, obj, start, end)
}

function segmentFiles(ctx: S3Context, bucket: Bucket, obj: StoredObject): { path: string; sizeBytes: number }[] {
  return obj.meta.segments.map((s) => ({ path: ctx.store.dataPath(bucket, s.file), sizeBytes: s.sizeBytes }))
}

/** No await between the lookup of `obj` and this read, so its files cannot have been removed meanwhile. */
function readObjectSync(ctx: S3Context, bucket: Bucket, obj: StoredObject, start: number, end: number): Buffer {
  ctx.store.acquire(obj)
  try {
    return readSegmentsSync(segmentFiles(ctx, bucket, obj), start, end)
  } finally {
    ctx.store.release(obj, bucket)
  }
}

async function streamObject(ctx: S3Context, bucket: Bucket, obj: StoredObject, start: number, end: number): Promise<void> {
  ctx.store.acquire(obj)
  try {
    await pipeline(readSegments(segmentFiles(ctx, bucket, obj), start, end), ctx.res)
  } finally {
    ctx.store.release(obj, bucket)
  }
}

export async function deleteObject(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  // DeleteObject of a missing key succeeds (204): deletes are idempotent.
  await ctx.store.deleteObject(bucket, requireKey(ctx))
  sendEmpty(ctx, 204)
}

export interface CopySource {
  bucket: Bucket
  obj: StoredObject
}

/** Resolves `x-amz-copy-source` (`[/]bucket/key[?versionId=..]`, URL-encoded) and its conditions. */
export function resolveCopySource(ctx: S3Context): CopySource {
  const raw = header(ctx.req.headers, 'x-amz-copy-source') ?? ''
  const q = raw.indexOf('?')
  let path: string
  try {
    path = decodeURIComponent(q < 0 ? raw : raw.slice(0, q)).replace(/^\//, '')
  } catch {
    throw invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', raw)
  }
  const slash = path.indexOf('/')
  if (slash <= 0 || slash === path.length - 1) {
    throw invalidArgument('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', 'x-amz-copy-source', raw)
  }
  const bucketName = path.slice(0, slash)
  const key = path.slice(slash + 1)
  const bucket = ctx.store.buckets.get(bucketName)
  if (!bucket) throw noSuchBucket(bucketName)
  const obj = bucket.objects.get(key)
  if (!obj) throw noSuchKey(key)
  // x-amz-copy-source-if-*: any failing condition is 412 for copies (never 304).
  const cond = evaluateConditions((n) => header(ctx.req.headers, `x-amz-copy-source-${n}`), obj.meta)
  if (cond !== 'ok') throw preconditionFailed('x-amz-copy-source-If')
  return { bucket, obj }
}

export async function copyObject(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  const key = requireKey(ctx)
  const src = resolveCopySource(ctx)
  const directive = (header(ctx.req.headers, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase()
  if (directive !== 'COPY' && directive !== 'REPLACE') throw invalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', directive)
  if (src.bucket === bucket && src.obj.meta.key === key && directive === 'COPY') {
    throw invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
  }
  const s = src.obj.meta
  const rep = directive === 'REPLACE' ? representationFromHeaders(ctx.req.headers) : { contentType: s.contentType, headers: s.headers, userMeta: s.userMeta }
  ctx.store.acquire(src.obj)
  let meta: ObjectMeta
  try {
    const sources = s.segments.map((seg) => ({ path: ctx.store.dataPath(src.bucket, seg.file), sizeBytes: seg.sizeBytes }))
    // CopyObject writes a single-part object: S3 gives it the MD5 of its bytes as ETag and no parts,
    // even when the source was a multipart upload ("<md5 of part md5s>-N").
    const etag = s.partsCount === undefined ? s.etag : `"${await md5OfFiles(sources.map((x) => x.path))}"`
    // Data files are immutable, so the copy shares them through hard links: O(1) in object size.
    meta = await ctx.store.putObject(bucket, {
      key,
      mode: 'link',
      sources,
      meta: {
        ...rep,
        sizeBytes: s.sizeBytes,
        etag,
        ...(s.checksum ? { checksum: s.checksum } : {}),
      },
    })
  } finally {
    ctx.store.release(src.obj, src.bucket)
  }
  const checksum = meta.checksum ? el(checksumMemberName(meta.checksum.algorithm), meta.checksum.value) : ''
  sendXml(ctx, 200, `<CopyObjectResult xmlns="${S3_XMLNS}">${el('LastModified', isoDate(meta.lastModifiedMs))}${el('ETag', meta.etag)}${checksum}</CopyObjectResult>`)
}

async function md5OfFiles(paths: string[]): Promise<string> {
  const hash = createHash('md5')
  for (const path of paths) {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}
