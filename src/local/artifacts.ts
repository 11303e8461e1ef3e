import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { pack } from 'tar-stream'

/**
 * Multi-model artifacts for the local stack: each `handlers/<name>/model/` folder (a `model.json`
 * naming the handler, plus its data) packed as `<name>.tar.gz` — the shape SageMaker multi-model
 * endpoints download from their model prefix.
 */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort()
}

/** Streams a gzipped tar of every file under `dir` (paths relative to it). */
export function packDirectory(dir: string): Readable {
  const tar = pack()
  const gzip = createGzip()
  const out = new PassThrough()
  void (async () => {
    for (const file of await filesUnder(dir)) {
      const { size } = await stat(file)
      const entry = tar.entry({ name: relative(dir, file), size, mode: 0o644 })
      await pipeline(createReadStream(file), entry)
    }
    tar.finalize()
  })().catch((err: unknown) => tar.destroy(err as Error))
  pipeline(tar, gzip, out).catch((err: unknown) => out.destroy(err as Error))
  return out
}

export interface EnsureArtifactsOptions {
  s3: S3Client
  bucket: string
  /** Key prefix of the multi-model endpoint's ModelDataUrl, ending in "/". */
  prefix: string
  handlersDir: string
  /** Handler folders to publish as `<name>.tar.gz`. */
  names: string[]
}

/** Uploads each artifact that is not there yet, so artifacts a user replaced are kept. */
export async function ensureArtifacts(o: EnsureArtifactsOptions): Promise<string[]> {
  const uploaded: string[] = []
  for (const name of o.names) {
    const key = `${o.prefix}${name}.tar.gz`
    const exists = await o.s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key })).then(
      () => true,
      (err: { name?: string }) => {
        if (err.name === 'NotFound') return false
        throw err
      },
    )
    if (exists) continue
    const body = packDirectory(join(o.handlersDir, name, 'model'))
    await new Upload({ client: o.s3, params: { Bucket: o.bucket, Key: key, Body: body, ContentType: 'application/gzip' } }).done()
    uploaded.push(key)
  }
  return uploaded
}
