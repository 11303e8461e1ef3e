// On-disk object store. Layout under dataDir (one server process owns it):
//   tmp/<uuid>                                 bodies being received, JSON being written (wiped at start)
//   buckets/<bucket>/bucket.json               { name, creationDateMs }
//   buckets/<bucket>/objects/<sha256(key)>.json object metadata, incl. the ordered list of data files
//   buckets/<bucket>/data/<uuid>               immutable data files (a single PUT, or the parts of a multipart object)
//   buckets/<bucket>/uploads/<uploadId>/...    multipart uploads in progress (see uploads.ts)
// Keys never appear in file names, so any key of up to 1024 bytes is safe. An object becomes visible only
// when its metadata file is renamed into place (JSON is written to tmp/ and renamed, synchronously), so
// readers never see partial data. A large body is received into tmp/ and renamed into data/; a small one
// (ingest.ts SMALL_BODY_BYTES) is received in memory and written synchronously straight under its data/
// name, which nothing references until the metadata rename: a crash before that rename leaves a data file
// no metadata names, and opening the store removes it. A multipart object keeps its part files as its
// data, so completing an upload costs no copy. JSON files, small data files (writes and removals) and
// reads of at most SMALL_BODY_BYTES (object-handlers.ts) use synchronous fs calls: at these sizes the
// libuv threadpool round trip costs more CPU than the syscall itself.
import type { CorsRule } from './cors.js'
import { createHash, randomUUID } from 'node:crypto'
import { renameSync, unlinkSync, writeFileSync } from 'node:fs'
import { copyFile, link, mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { ChecksumAlgorithm } from './checksums.js'
import { noSuchBucket } from './errors.js'
import { SMALL_BODY_BYTES } from './ingest.js'
import { KeyedMutex } from './keyed-mutex.js'
import { loadUploads, type Upload } from './uploads.js'

export interface Segment {
  file: string
  sizeBytes: number
}

export interface ObjectChecksum {
  algorithm: ChecksumAlgorithm
  value: string
  type: 'FULL_OBJECT' | 'COMPOSITE'
}

export interface ObjectMeta {
  key: string
  sizeBytes: number
  /** Quoted, as sent in the ETag header. */
  etag: string
  lastModifiedMs: number
  contentType: string
  /** Stored representation headers (content-disposition, cache-control, ...), lower-case names. */
  headers: Record<string, string>
  /** x-amz-meta-* values, by lower-case name without the prefix. */
  userMeta: Record<string, string>
  checksum?: ObjectChecksum
  partsCount?: number
  segments: Segment[]
}

export interface StoredObject {
  meta: ObjectMeta
  /** Streams reading it; its files are deleted only once this is 0 after it was replaced or deleted. */
  readers: number
  retired: boolean
}

export interface Bucket {
  name: string
  creationDateMs: number
  dir: string
  objects: Map<string, StoredObject>
  uploads: Map<string, Upload>
  sorted: { keys: string[]; bufs: Buffer[] } | undefined
  deleted: boolean
  /** The bucket's CORS rules (PutBucketCors), kept in bucket.json. */
  cors?: CorsRule[]
}

/** A data file to take over (see PutObjectInput.mode), or bytes to write into a new data file. */
export type PutSource = { path: string; sizeBytes: number } | { data: Buffer; sizeBytes: number }

export interface PutObjectInput {
  key: string
  meta: Omit<ObjectMeta, 'key' | 'segments' | 'lastModifiedMs'>
  sources: PutSource[]
  /**
   * For sources with a path: rename takes ownership of the files; link shares immutable files of another
   * object (copy). Sources with data are written (synchronously) to a new data file either way.
   */
  mode: 'rename' | 'link'
  /** Throws to refuse the write, given the object currently stored (conditional writes). */
  condition?: (current: ObjectMeta | undefined) => void
}

export class ObjectStore {
  readonly buckets = new Map<string, Bucket>()
  readonly tmpDir: string
  readonly locks = new KeyedMutex()
  private readonly bucketsDir: string
  private readonly pending = new Set<Promise<unknown>>()

  private constructor(
    readonly dataDir: string,
    readonly logger: Logger,
  ) {
    this.tmpDir = join(dataDir, 'tmp')
    this.bucketsDir = join(dataDir, 'buckets')
  }

  static async open(dataDir: string, logger: Logger): Promise<ObjectStore> {
    const store = new ObjectStore(dataDir, logger)
    await rm(store.tmpDir, { recursive: true, force: true })
    await mkdir(store.tmpDir, { recursive: true })
    await mkdir(store.bucketsDir, { recursive: true })
    for (const name of await readdir(store.bucketsDir)) await store.loadBucket(name)
    return store
  }

  newTmpPath(): string {
    return join(this.tmpDir, randomUUID())
  }

  /** Runs a cleanup in the background; `drain()` waits for all of them. */
  track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p)
    const done = (): void => void this.pending.delete(p)
    p.then(done, done)
    return p
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending])
  }

  async removeFile(path: string): Promise<void> {
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') this.logger.warn({ err, path }, 'local-s3: could not remove file')
    })
  }

  /** Synchronous: removes the file (a missing file is fine), logging other failures. */
  removeFileSync(path: string): void {
    try {
      unlinkSync(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ err, path }, 'local-s3: could not remove file')
    }
  }

  /**
   * Writes the JSON to tmp/ and renames it over `path`, synchronously: these are a few hundred bytes
   * (under 1 MB even for the metadata of an object with 10000 parts).
   */
  writeJsonAtomic(path: string, value: unknown): void {
    const tmp = `${this.newTmpPath()}.json`
    try {
      writeFileSync(tmp, JSON.stringify(value))
      renameSync(tmp, path)
    } catch (err) {
      this.removeFileSync(tmp)
      throw err
    }
  }

  /** Sets (or, with undefined, removes) the bucket's CORS rules, durably. */
  async setCors(bucket: Bucket, rules: CorsRule[] | undefined): Promise<void> {
    await this.locks.run(`b:${bucket.name}`, async () => {
      this.writeJsonAtomic(join(bucket.dir, 'bucket.json'), { name: bucket.name, creationDateMs: bucket.creationDateMs, ...(rules !== undefined ? { cors: rules } : {}) })
      if (rules === undefined) delete bucket.cors
      else bucket.cors = rules
    })
  }

  /** The bucket if it exists (no error). */
  findBucket(name: string): Bucket | undefined {
    return this.buckets.get(name)
  }

  bucket(name: string): Bucket {
    const b = this.buckets.get(name)
    if (!b) throw noSuchBucket(name)
    return b
  }

  listBuckets(): Bucket[] {
    return [...this.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Returns false when the bucket already existed. The name must have been validated. */
  async createBucket(name: string): Promise<boolean> {
    return this.locks.run(`b:${name}`, async () => {
      if (this.buckets.has(name)) return false
      const dir = join(this.bucketsDir, name)
      const bucket = newBucket(name, dir, Date.now())
      for (const sub of ['objects', 'data', 'uploads']) await mkdir(join(dir, sub), { recursive: true })
      this.writeJsonAtomic(join(dir, 'bucket.json'), { name, creationDateMs: bucket.creationDateMs })
      // Visible only once its folders exist.
      this.buckets.set(name, bucket)
      return true
    })
  }

  /** Removes an empty bucket (in-progress multipart uploads are discarded with it). */
  async deleteBucket(bucket: Bucket): Promise<void> {
    await this.locks.run(`b:${bucket.name}`, async () => {
      bucket.deleted = true
      this.buckets.delete(bucket.name)
      for (const u of bucket.uploads.values()) u.done = true
      bucket.uploads.clear()
      await rm(bucket.dir, { recursive: true, force: true })
    })
  }

  object(bucket: Bucket, key: string): StoredObject | undefined {
    return bucket.objects.get(key)
  }

  dataPath(bucket: Bucket, file: string): string {
    return join(bucket.dir, 'data', file)
  }

  acquire(obj: StoredObject): void {
    obj.readers++
  }

  release(obj: StoredObject, bucket: Bucket): void {
    obj.readers--
    if (obj.readers === 0 && obj.retired) this.unlinkSegments(bucket, obj.meta.segments)
  }

  async putObject(bucket: Bucket, input: PutObjectInput): Promise<ObjectMeta> {
    return this.locks.run(`o:${bucket.name}/${input.key}`, async () => {
      if (bucket.deleted) throw noSuchBucket(bucket.name)
      const current = bucket.objects.get(input.key)
      input.condition?.(current?.meta)
      const segments: Segment[] = []
      try {
        for (const src of input.sources) {
          const seg = { file: randomUUID(), sizeBytes: src.sizeBytes }
          const dest = this.dataPath(bucket, seg.file)
          if ('data' in src) {
            // Listed first, so a failed write is removed by the catch below.
            segments.push(seg)
            writeFileSync(dest, src.data, { flag: 'wx' })
            continue
          }
          if (input.mode === 'rename') await rename(src.path, dest)
          else await link(src.path, dest).catch(() => copyFile(src.path, dest))
          segments.push(seg)
        }
        const meta: ObjectMeta = { ...input.meta, key: input.key, lastModifiedMs: Date.now(), segments }
        this.writeJsonAtomic(this.metaPath(bucket, input.key), meta)
        if (bucket.deleted) throw noSuchBucket(bucket.name)
        bucket.objects.set(input.key, { meta, readers: 0, retired: false })
        if (!current) bucket.sorted = undefined
        if (current) this.retire(bucket, current)
        return meta
      } catch (err) {
        this.unlinkSegments(bucket, segments)
        throw err
      }
    })
  }

  async deleteObject(bucket: Bucket, key: string): Promise<void> {
    await this.locks.run(`o:${bucket.name}/${key}`, async () => {
      const current = bucket.objects.get(key)
      if (!current) return
      bucket.objects.delete(key)
      bucket.sorted = undefined
      this.removeFileSync(this.metaPath(bucket, key))
      this.retire(bucket, current)
    })
  }

  /** Keys in UTF-8 byte order (S3's listing order), cached until a key is added or removed. */
  sortedKeys(bucket: Bucket): { keys: string[]; bufs: Buffer[] } {
    if (!bucket.sorted) {
      const entries = [...bucket.objects.keys()].map((k) => ({ k, b: Buffer.from(k, 'utf8') }))
      entries.sort((x, y) => Buffer.compare(x.b, y.b))
      bucket.sorted = { keys: entries.map((e) => e.k), bufs: entries.map((e) => e.b) }
    }
    return bucket.sorted
  }

  private retire(bucket: Bucket, obj: StoredObject): void {
    obj.retired = true
    if (obj.readers === 0) this.unlinkSegments(bucket, obj.meta.segments)
  }

  /** Small files are removed synchronously; larger ones in the background (`drain()` waits for them). */
  private unlinkSegments(bucket: Bucket, segments: Segment[]): void {
    for (const s of segments) {
      const path = this.dataPath(bucket, s.file)
      if (s.sizeBytes <= SMALL_BODY_BYTES) this.removeFileSync(path)
      else void this.track(this.removeFile(path))
    }
  }

  private metaPath(bucket: Bucket, key: string): string {
    return join(bucket.dir, 'objects', `${createHash('sha256').update(key, 'utf8').digest('hex')}.json`)
  }

  private async loadBucket(name: string): Promise<void> {
    const dir = join(this.bucketsDir, name)
    let info: { name: string; creationDateMs: number; cors?: CorsRule[] }
    try {
      info = JSON.parse(await readFile(join(dir, 'bucket.json'), 'utf8')) as typeof info
    } catch {
      this.logger.warn({ dir }, 'local-s3: ignoring a bucket folder without bucket.json')
      return
    }
    const bucket = newBucket(name, dir, info.creationDateMs)
    if (info.cors !== undefined) bucket.cors = info.cors
    for (const sub of ['objects', 'data', 'uploads']) await mkdir(join(dir, sub), { recursive: true })
    const referenced = new Set<string>()
    for (const f of await readdir(join(dir, 'objects'))) {
      try {
        const meta = JSON.parse(await readFile(join(dir, 'objects', f), 'utf8')) as ObjectMeta
        bucket.objects.set(meta.key, { meta, readers: 0, retired: false })
        for (const s of meta.segments) referenced.add(s.file)
      } catch (err) {
        this.logger.warn({ err, file: f }, 'local-s3: unreadable object metadata removed')
        await this.removeFile(join(dir, 'objects', f))
      }
    }
    // Data files no metadata points to are left over from a crash after the data file was renamed or
    // written into data/ and before the metadata was renamed into place.
    for (const f of await readdir(join(dir, 'data'))) {
      if (!referenced.has(f)) await this.removeFile(join(dir, 'data', f))
    }
    for (const upload of await loadUploads(this, bucket)) bucket.uploads.set(upload.id, upload)
    this.buckets.set(name, bucket)
  }
}

function newBucket(name: string, dir: string, creationDateMs: number): Bucket {
  return { name, creationDateMs, dir, objects: new Map(), uploads: new Map(), sorted: undefined, deleted: false }
}
