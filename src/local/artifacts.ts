import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { createReadStream } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { pack } from 'tar-stream'
import { ARTIFACT_METADATA } from '../services/model-registry.js'

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

/** The version the stack published an artifact at, kept in its metadata. */
const PUBLISHED_VERSION = 'sagegate-version'

/**
 * What an artifact declares about itself (services/model-registry.ts reads it back): the content
 * types and description from its model.json. S3 metadata is ASCII, so a description that is not
 * stays out.
 */
export async function artifactMetadata(modelDir: string): Promise<Record<string, string>> {
  const manifest = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')) as { version?: unknown; contentTypes?: unknown; description?: unknown }
  const metadata: Record<string, string> = { [PUBLISHED_VERSION]: String(manifest.version ?? 1) }
  if (Array.isArray(manifest.contentTypes)) metadata[ARTIFACT_METADATA.contentTypes] = manifest.contentTypes.join(',')
  if (typeof manifest.description === 'string' && /^[\x20-\x7e]*$/.test(manifest.description)) metadata[ARTIFACT_METADATA.description] = manifest.description
  return metadata
}

/**
 * Uploads each artifact that is not there yet, or that the stack itself published at an older
 * version of its model.json; an artifact a user put there (no published version) is kept.
 */
export async function ensureArtifacts(o: EnsureArtifactsOptions): Promise<string[]> {
  const uploaded: string[] = []
  for (const name of o.names) {
    const key = `${o.prefix}${name}.tar.gz`
    const modelDir = join(o.handlersDir, name, 'model')
    const metadata = await artifactMetadata(modelDir)
    const existing = await o.s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key })).then(
      (out) => out.Metadata ?? {},
      (err: { name?: string }) => {
        if (err.name === 'NotFound') return undefined
        throw err
      },
    )
    const published = existing?.[PUBLISHED_VERSION]
    if (existing !== undefined && (published === undefined || Number(published) >= Number(metadata[PUBLISHED_VERSION]))) continue
    const body = packDirectory(modelDir)
    await new Upload({ client: o.s3, params: { Bucket: o.bucket, Key: key, Body: body, ContentType: 'application/gzip', Metadata: metadata } }).done()
    uploaded.push(key)
  }
  return uploaded
}
