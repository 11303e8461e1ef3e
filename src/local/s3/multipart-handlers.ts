// CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload,
// ListParts, ListMultipartUploads.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CHECKSUM_ALGORITHMS, checksumMemberName, createChecksum, parseChecksumAlgorithm, type ChecksumAlgorithm } from './checksums.js'
import { invalidArgument, invalidRequest, malformedXml } from './errors.js'
import { header, isoDate, parseIntParam, representationFromHeaders, requireBucketName, requireKey, sendEmpty, sendXml, type S3Context } from './http-util.js'
import { parseIngestSpec, type IngestResult } from './ingest.js'
import { checksumResponseHeaders, receiveToTmp, resolveCopySource, writeCondition } from './object-handlers.js'
import { readSegments } from './object-reader.js'
import { readXmlBody } from './request-body.js'
import { abortUpload, completeUpload, createUpload, getUpload, MAX_PART_NUMBER, putPart, type RequestedPart, type Upload } from './uploads.js'
import { child, childText, el, S3_XMLNS } from './xml.js'

// A CompleteMultipartUpload body lists at most 10000 parts.
const MAX_COMPLETE_BODY_BYTES = 4 * 1024 * 1024

function ownerXml(ctx: S3Context, tag: string): string {
  return `<${tag}>${el('ID', ctx.owner.id)}${el('DisplayName', ctx.owner.displayName)}</${tag}>`
}

function uploadFor(ctx: S3Context): Upload {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  return getUpload(bucket, ctx.query.get('uploadId') ?? '', requireKey(ctx))
}

export async function createMultipartUpload(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  const key = requireKey(ctx)
  const rep = representationFromHeaders(ctx.req.headers)
  const algHeader = header(ctx.req.headers, 'x-amz-checksum-algorithm')
  const checksumAlgorithm = algHeader === undefined ? undefined : parseChecksumAlgorithm(algHeader)
  if (algHeader !== undefined && checksumAlgorithm === undefined) {
    throw invalidRequest(`Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${CHECKSUM_ALGORITHMS.join(', ')}]`)
  }
  const upload = await createUpload(ctx.store, bucket, {
    key,
    initiatedMs: Date.now(),
    ...rep,
    ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
  })
  sendXml(
    ctx,
    200,
    `<InitiateMultipartUploadResult xmlns="${S3_XMLNS}">${el('Bucket', bucket.name)}${el('Key', key)}${el('UploadId', upload.id)}</InitiateMultipartUploadResult>`,
    checksumAlgorithm ? { 'x-amz-checksum-algorithm': checksumAlgorithm, 'x-amz-checksum-type': 'COMPOSITE' } : {},
  )
}

function partNumberParam(ctx: S3Context): number {
  const raw = ctx.query.get('partNumber') ?? ''
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_PART_NUMBER) {
    throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', raw)
  }
  return n
}

export async function uploadPart(ctx: S3Context): Promise<void> {
  const partNumber = partNumberParam(ctx)
  const upload = uploadFor(ctx)
  const spec = parseIngestSpec(ctx.req, ctx.auth, upload.init.checksumAlgorithm)
  const { tmpPath, received } = await receiveToTmp(ctx, spec)
  try {
    // Refused (and the file removed) when the upload was aborted or completed meanwhile.
    await putPart(ctx.store, upload, partNumber, tmpPath, received)
  } catch (err) {
    await ctx.store.removeFile(tmpPath)
    throw err
  }
  sendEmpty(ctx, 200, { etag: `"${received.md5Hex}"`, ...checksumResponseHeaders(received.checksum) })
}

export async function uploadPartCopy(ctx: S3Context): Promise<void> {
  const partNumber = partNumberParam(ctx)
  const upload = uploadFor(ctx)
  const src = resolveCopySource(ctx)
  const size = src.obj.meta.sizeBytes
  let start = 0
  let end = size - 1
  const rangeHeader = header(ctx.req.headers, 'x-amz-copy-source-range')
  if (rangeHeader !== undefined) {
    const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim())
    if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) >= size) {
      throw invalidArgument(`Range specified is not valid for source object of size: ${size}`, 'x-amz-copy-source-range', rangeHeader)
    }
    start = Number(m[1])
    end = Number(m[2])
  }
  const tmpPath = ctx.store.newTmpPath()
  ctx.store.acquire(src.obj)
  let received: IngestResult
  try {
    received = await copyRangeToFile(ctx, src, start, end, tmpPath, upload.init.checksumAlgorithm)
    await putPart(ctx.store, upload, partNumber, tmpPath, received)
  } catch (err) {
    await ctx.store.removeFile(tmpPath)
    throw err
  } finally {
    ctx.store.release(src.obj, src.bucket)
  }
  const checksum = received.checksum ? el(checksumMemberName(received.checksum.algorithm), received.checksum.value) : ''
  sendXml(ctx, 200, `<CopyPartResult xmlns="${S3_XMLNS}">${el('LastModified', isoDate(Date.now()))}${el('ETag', `"${received.md5Hex}"`)}${checksum}</CopyPartResult>`)
}

async function copyRangeToFile(
  ctx: S3Context,
  src: ReturnType<typeof resolveCopySource>,
  start: number,
  end: number,
  tmpPath: string,
  alg: ChecksumAlgorithm | undefined,
): Promise<IngestResult> {
  const md5 = createHash('md5')
  const checksum = alg ? createChecksum(alg) : undefined
  let sizeBytes = 0
  const files = src.obj.meta.segments.map((s) => ({ path: ctx.store.dataPath(src.bucket, s.file), sizeBytes: s.sizeBytes }))
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sizeBytes += chunk.length
      md5.update(chunk)
      checksum?.update(chunk)
      cb(null, chunk)
    },
  })
  await pipeline(readSegments(files, start, end), hasher, createWriteStream(tmpPath, { highWaterMark: 1 << 20 }))
  return {
    sizeBytes,
    md5Hex: md5.digest('hex'),
    ...(alg && checksum ? { checksum: { algorithm: alg, value: checksum.digest().toString('base64') } } : {}),
  }
}

export async function completeMultipartUpload(ctx: S3Context): Promise<void> {
  const upload = uploadFor(ctx)
  const condition = writeCondition(ctx.req.headers)
  const root = await readXmlBody(ctx, MAX_COMPLETE_BODY_BYTES, 'CompleteMultipartUpload')
  const requested: RequestedPart[] = root.children
    .filter((c) => c.name === 'Part')
    .map((p) => {
      const num = childText(p, 'PartNumber')?.trim() ?? ''
      const etag = childText(p, 'ETag')
      if (!/^\d+$/.test(num) || etag === undefined) throw malformedXml()
      const checksums: RequestedPart['checksums'] = {}
      for (const alg of CHECKSUM_ALGORITHMS) {
        const v = child(p, checksumMemberName(alg))
        if (v) checksums[alg] = v.text.trim()
      }
      return { partNumber: Number(num), etag, checksums }
    })
  const meta = await completeUpload(ctx.store, upload, requested, condition)
  const bucket = upload.bucket.name
  const host = header(ctx.req.headers, 'host') ?? 'localhost'
  const location = `http://${host}/${encodeURIComponent(bucket)}/${meta.key.split('/').map(encodeURIComponent).join('/')}`
  const checksum = meta.checksum
    ? el(checksumMemberName(meta.checksum.algorithm), meta.checksum.value) + el('ChecksumType', meta.checksum.type)
    : ''
  sendXml(
    ctx,
    200,
    `<CompleteMultipartUploadResult xmlns="${S3_XMLNS}">${el('Location', location)}${el('Bucket', bucket)}${el('Key', meta.key)}${el('ETag', meta.etag)}${checksum}</CompleteMultipartUploadResult>`,
  )
}

export async function abortMultipartUpload(ctx: S3Context): Promise<void> {
  await abortUpload(ctx.store, uploadFor(ctx))
  sendEmpty(ctx, 204)
}

export function listParts(ctx: S3Context): void {
  const upload = uploadFor(ctx)
  const marker = parseIntParam(ctx, 'part-number-marker', 0, 0, MAX_PART_NUMBER)
  const maxParts = parseIntParam(ctx, 'max-parts', 1000, 0, 1000)
  const all = [...upload.parts.values()].sort((a, b) => a.partNumber - b.partNumber).filter((p) => p.partNumber > marker)
  const page = all.slice(0, maxParts)
  const truncated = all.length > page.length
  const alg = upload.init.checksumAlgorithm
  const partsXml = page
    .map(
      (p) =>
        `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', isoDate(p.lastModifiedMs))}${el('ETag', p.etag)}${el('Size', p.sizeBytes)}` +
        `${alg && p.checksum ? el(checksumMemberName(alg), p.checksum) : ''}</Part>`,
    )
    .join('')
  const next = page.at(-1)?.partNumber ?? marker
  sendXml(
    ctx,
    200,
    `<ListPartsResult xmlns="${S3_XMLNS}">${el('Bucket', upload.bucket.name)}${el('Key', upload.init.key)}${el('UploadId', upload.id)}` +
      `${el('PartNumberMarker', marker)}${el('NextPartNumberMarker', next)}${el('MaxParts', maxParts)}${el('IsTruncated', truncated)}` +
      `${ownerXml(ctx, 'Initiator')}${ownerXml(ctx, 'Owner')}${el('StorageClass', 'STANDARD')}${alg ? el('ChecksumAlgorithm', alg) : ''}${partsXml}</ListPartsResult>`,
  )
}

export function listMultipartUploads(ctx: S3Context): void {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  const prefix = ctx.query.get('prefix') ?? ''
  const delimiter = ctx.query.get('delimiter') ?? ''
  const keyMarker = ctx.query.get('key-marker') ?? ''
  const uploadIdMarker = ctx.query.get('upload-id-marker') ?? ''
  const maxUploads = parseIntParam(ctx, 'max-uploads', 1000, 0, 1000)
  const byKey = (a: Upload, b: Upload): number =>
    Buffer.compare(Buffer.from(a.init.key), Buffer.from(b.init.key)) || a.init.initiatedMs - b.init.initiatedMs || (a.id < b.id ? -1 : 1)
  const candidates = [...bucket.uploads.values()]
    .filter((u) => !u.done && u.init.key.startsWith(prefix))
    .sort(byKey)
    .filter((u) => {
      if (keyMarker === '') return true
      const c = Buffer.compare(Buffer.from(u.init.key), Buffer.from(keyMarker))
      return c > 0 || (c === 0 && uploadIdMarker !== '' && u.id > uploadIdMarker)
    })
  const uploads: Upload[] = []
  const prefixes: string[] = []
  let truncated = false
  let last: Upload | undefined
  for (const u of candidates) {
    const d = delimiter === '' ? -1 : u.init.key.indexOf(delimiter, prefix.length)
    const cp = d < 0 ? undefined : u.init.key.slice(0, d + delimiter.length)
    if (cp !== undefined && prefixes.at(-1) === cp) continue
    if (uploads.length + prefixes.length >= maxUploads) {
      truncated = true
      break
    }
    if (cp !== undefined) prefixes.push(cp)
    else uploads.push(u)
    last = u
  }
  const uploadsXml = uploads
    .map(
      (u) =>
        `<Upload>${el('Key', u.init.key)}${el('UploadId', u.id)}${ownerXml(ctx, 'Initiator')}${ownerXml(ctx, 'Owner')}` +
        `${el('StorageClass', 'STANDARD')}${el('Initiated', isoDate(u.init.initiatedMs))}${u.init.checksumAlgorithm ? el('ChecksumAlgorithm', u.init.checksumAlgorithm) : ''}</Upload>`,
    )
    .join('')
  const cpXml = prefixes.map((p) => `<CommonPrefixes>${el('Prefix', p)}</CommonPrefixes>`).join('')
  sendXml(
    ctx,
    200,
    `<ListMultipartUploadsResult xmlns="${S3_XMLNS}">${el('Bucket', bucket.name)}${el('KeyMarker', keyMarker)}${el('UploadIdMarker', uploadIdMarker)}` +
      `${truncated && last ? el('NextKeyMarker', last.init.key) + el('NextUploadIdMarker', last.id) : ''}` +
      `${el('Prefix', prefix)}${delimiter ? el('Delimiter', delimiter) : ''}${el('MaxUploads', maxUploads)}${el('IsTruncated', truncated)}${uploadsXml}${cpXml}</ListMultipartUploadsResult>`,
  )
}
