import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { createWriteStream } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { dirname, isAbsolute, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { extract } from 'tar-stream'
import { internalDependency, messages, RuntimeError, validationError } from './errors.js'

export interface ArtifactSource {
  bucket: string
  key: string
}

/** S3 answers that mean "there is no object you may read at that URL". */
const MISSING = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'AccessDenied', 'Forbidden'])

/**
 * Downloads a model artifact (`.tar.gz`) and unpacks it into `modelDir` as it streams in — gunzip and
 * tar entry by entry, never holding the archive — the way SageMaker fills /opt/ml/models/<id>/model.
 * `modelDir` is emptied first. A missing object is SageMaker's ValidationError ("Failed to download
 * model data ..."); an archive that is not a safe .tar.gz (entries escaping the directory, links,
 * devices) is refused the same way; S3 failing otherwise is an InternalDependencyException.
 */
export async function fetchArtifact(s3: S3Client, source: ArtifactSource, modelDir: string, signal: AbortSignal): Promise<void> {
  await rm(modelDir, { recursive: true, force: true })
  await mkdir(modelDir, { recursive: true })
  let body: Readable
  try {
    const obj = await s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }), { abortSignal: signal })
    body = obj.Body as Readable
  } catch (err) {
    if (signal.aborted) throw err
    const name = (err as { name?: string }).name ?? ''
    if (MISSING.has(name)) throw validationError(messages.modelDataNotFound(source.bucket, source.key))
    throw internalDependency(messages.modelDataUnavailable(source.bucket, source.key))
  }
  let downloadError: unknown
  body.once('error', (err) => (downloadError ??= err))
  const extractor = extract()
  const feeding = pipeline(body, createGunzip(), extractor, { signal })
  feeding.catch(() => undefined) // observed below, or superseded by the iteration's own error
  try {
    for await (const entry of extractor) {
      const target = entryTarget(modelDir, entry.header.name)
      const type = entry.header.type ?? 'file'
      if (type === 'directory') {
        await mkdir(target, { recursive: true })
        entry.resume()
      } else if (type === 'file' || type === 'contiguous-file') {
        await mkdir(dirname(target), { recursive: true })
        await pipeline(entry, createWriteStream(target, { mode: 0o644 }))
      } else {
        // Links could point (or later writes could follow them) outside the model directory.
        throw new UnsafeEntryError(`entry '${entry.header.name}' is a ${type}; only files and directories are supported`)
      }
    }
    await feeding
  } catch (err) {
    body.destroy()
    extractor.destroy()
    await rm(modelDir, { recursive: true, force: true })
    if (signal.aborted) throw err
    if (err instanceof RuntimeError) throw err
    if (err instanceof UnsafeEntryError) throw validationError(messages.modelDataInvalid(source.bucket, source.key, err.message))
    if (downloadError !== undefined) throw internalDependency(messages.modelDataUnavailable(source.bucket, source.key))
    const reason = err instanceof Error ? err.message : String(err)
    throw validationError(messages.modelDataInvalid(source.bucket, source.key, `not a valid .tar.gz (${reason})`))
  }
}

class UnsafeEntryError extends Error {}

/** Refuses absolute names and `..` segments (tar path traversal, "zip slip"). */
function entryTarget(modelDir: string, name: string): string {
  const segments = name.split(/[\\/]+/)
  if (name.includes('\0') || isAbsolute(name) || /^[a-zA-Z]:/.test(name) || segments.includes('..')) {
    throw new UnsafeEntryError(`entry '${name}' escapes the model directory`)
  }
  const target = resolve(modelDir, name)
  if (target !== modelDir && !target.startsWith(modelDir + sep)) throw new UnsafeEntryError(`entry '${name}' escapes the model directory`)
  return target
}
