// Multipart uploads: buckets/<bucket>/uploads/<uploadId>/upload.json, and per part a data file
// `<partNumber>-<uuid>` with its metadata next to it in `<partNumber>-<uuid>.json`.
// Every state change of an upload runs under its lock, and `done` is set once it is completed or
// aborted: a part that finishes after that is refused and its file removed, so an abort leaves nothing.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { compositeChecksum, type ChecksumAlgorithm } from './checksums.js'
import { malformedXml, noSuchUpload, S3Error } from './errors.js'
import type { IngestResult } from './ingest.js'
import type { Bucket, ObjectMeta, ObjectStore } from './store.js'

// S3 multipart limits: parts 1..10000, every part but the last at least 5 MiB.
export const MAX_PART_NUMBER = 10000
export const MIN_PART_BYTES = 5 * 1024 * 1024

export interface UploadInit {
  key: string
  initiatedMs: number
  contentType: string
  headers: Record<string, string>
  userMeta: Record<string, string>
  checksumAlgorithm?: ChecksumAlgorithm
}

export interface PartMeta {
  partNumber: number
  sizeBytes: number
  /** Quoted MD5 hex. */
  etag: string
  lastModifiedMs: number
  file: string
  checksum?: string
}

export interface Upload {
  id: string
  bucket: Bucket
  init: UploadInit
  dir: string
  parts: Map<number, PartMeta>
  done: boolean
}

export interface RequestedPart {
  partNumber: number
  etag: string
  checksums: Partial<Record<ChecksumAlgorithm, string>>
}

export async function createUpload(store: ObjectStore, bucket: Bucket, init: UploadInit): Promise<Upload> {
  const id = randomBytes(24).toString('base64url')
  const upload: Upload = { id, bucket, init, dir: join(bucket.dir, 'uploads', id), parts: new Map(), done: false }
  await mkdir(upload.dir, { recursive: true })
  store.writeJsonAtomic(join(upload.dir, 'upload.json'), { id, ...init })
  bucket.uploads.set(id, upload)
  return upload
}

/** S3 answers NoSuchUpload also when the upload exists under another key. */
export function getUpload(bucket: Bucket, uploadId: string, key: string): Upload {
  const u = bucket.uploads.get(uploadId)
  if (!u || u.done || u.init.key !== key) throw noSuchUpload(uploadId)
  return u
}

/** Registers a received part; `tmpPath` is moved into the upload, or left for the caller to delete on error. */
export async function putPart(store: ObjectStore, upload: Upload, partNumber: number, tmpPath: string, received: IngestResult): Promise<PartMeta> {
  return store.locks.run(`u:${upload.id}`, async () => {
    if (upload.done) throw noSuchUpload(upload.id)
    const file = `${partNumber}-${randomUUID()}`
    await rename(tmpPath, join(upload.dir, file))
    const part: PartMeta = {
      partNumber,
      sizeBytes: received.sizeBytes,
      etag: `"${received.md5Hex}"`,
      lastModifiedMs: Date.now(),
      file,
      ...(received.checksum ? { checksum: received.checksum.value } : {}),
    }
    store.writeJsonAtomic(join(upload.dir, `${file}.json`), part)
    const replaced = upload.parts.get(partNumber)
    upload.parts.set(partNumber, part)
    if (replaced) await removePartFiles(store, upload, replaced.file)
    return part
  })
}

export async function abortUpload(store: ObjectStore, upload: Upload): Promise<void> {
  await store.locks.run(`u:${upload.id}`, async () => {
    if (upload.done) throw noSuchUpload(upload.id)
    upload.done = true
    upload.bucket.uploads.delete(upload.id)
    await rm(upload.dir, { recursive: true, force: true })
  })
}

/**
 * Validates the client's part list (CompleteMultipartUpload rules) and turns the parts into the object:
 * the part files become the object's data files (renames, no copy).
 */
export async function completeUpload(
  store: ObjectStore,
  upload: Upload,
  requested: RequestedPart[],
  condition?: (current: ObjectMeta | undefined) => void,
): Promise<ObjectMeta> {
  return store.locks.run(`u:${upload.id}`, async () => {
    if (upload.done) throw noSuchUpload(upload.id)
    if (requested.length === 0) throw malformedXml()
    const chosen: PartMeta[] = []
    let previous = 0
    for (const r of requested) {
      if (r.partNumber <= previous) {
        throw new S3Error(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.')
      }
      previous = r.partNumber
      const part = upload.parts.get(r.partNumber)
      const alg = upload.init.checksumAlgorithm
      const claimed = alg === undefined ? undefined : r.checksums[alg]
      if (!part || normalizeEtag(r.etag) !== part.etag || (claimed !== undefined && part.checksum !== undefined && claimed !== part.checksum)) {
        throw new S3Error(
          400,
          'InvalidPart',
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          { UploadId: upload.id, PartNumber: String(r.partNumber), ETag: r.etag },
        )
      }
      chosen.push(part)
    }
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.sizeBytes < MIN_PART_BYTES) {
        throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
          ProposedSize: String(p.sizeBytes),
          MinSizeAllowed: String(MIN_PART_BYTES),
          PartNumber: String(p.partNumber),
          ETag: p.etag,
        })
      }
    })
    // Multipart ETag: MD5 of the concatenated binary part MD5s, then "-<part count>".
    const md5 = createHash('md5')
    for (const p of chosen) md5.update(Buffer.from(p.etag.slice(1, -1), 'hex'))
    const alg = upload.init.checksumAlgorithm
    const partSums = chosen.map((p) => p.checksum)
    const composite =
      alg !== undefined && partSums.every((s): s is string => s !== undefined) ? compositeChecksum(alg, partSums) : undefined
    const meta = await store.putObject(upload.bucket, {
      key: upload.init.key,
      mode: 'rename',
      sources: chosen.map((p) => ({ path: join(upload.dir, p.file), sizeBytes: p.sizeBytes })),
      meta: {
        sizeBytes: chosen.reduce((n, p) => n + p.sizeBytes, 0),
        etag: `"${md5.digest('hex')}-${chosen.length}"`,
        contentType: upload.init.contentType,
        headers: upload.init.headers,
        userMeta: upload.init.userMeta,
        partsCount: chosen.length,
        ...(alg !== undefined && composite !== undefined ? { checksum: { algorithm: alg, value: composite, type: 'COMPOSITE' as const } } : {}),
      },
      ...(condition ? { condition } : {}),
    })
    upload.done = true
    upload.bucket.uploads.delete(upload.id)
    // Parts not named in the request are discarded with the folder (S3 frees them too).
    await rm(upload.dir, { recursive: true, force: true })
    return meta
  })
}

export function normalizeEtag(etag: string): string {
  const t = etag.trim()
  return t.startsWith('"') ? t : `"${t}"`
}

async function removePartFiles(store: ObjectStore, upload: Upload, file: string): Promise<void> {
  await store.removeFile(join(upload.dir, file))
  await store.removeFile(join(upload.dir, `${file}.json`))
}

/**
 * Rebuilds the uploads of a bucket from disk, dropping part files that never got their metadata, and
 * part metadata whose file is gone.
 */
export async function loadUploads(store: ObjectStore, bucket: Bucket): Promise<Upload[]> {
  const root = join(bucket.dir, 'uploads')
  const out: Upload[] = []
  for (const id of await readdir(root)) {
    const dir = join(root, id)
    let init: UploadInit
    try {
      const raw = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as UploadInit & { id: string }
      const { id: _id, ...rest } = raw
      init = rest
    } catch {
      await rm(dir, { recursive: true, force: true })
      continue
    }
    const upload: Upload = { id, bucket, init, dir, parts: new Map(), done: false }
    const files = (await readdir(dir)).filter((f) => f !== 'upload.json')
    const present = new Set(files)
    const keep = new Set<string>()
    for (const f of files.filter((x) => x.endsWith('.json'))) {
      const part = JSON.parse(await readFile(join(dir, f), 'utf8')) as PartMeta
      // A crash in the middle of CompleteMultipartUpload leaves the metadata of parts whose data was
      // already moved into the object: such a part is gone (a later Complete naming it gets InvalidPart).
      if (!present.has(part.file)) continue
      const other = upload.parts.get(part.partNumber)
      if (other && other.lastModifiedMs > part.lastModifiedMs) continue
      upload.parts.set(part.partNumber, part)
    }
    for (const p of upload.parts.values()) keep.add(p.file).add(`${p.file}.json`)
    for (const f of files) if (!keep.has(f)) await store.removeFile(join(dir, f))
    out.push(upload)
  }
  return out
}
