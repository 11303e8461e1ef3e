// What a multi-model artifact tells the host: `<model dir>/model.json` names the handler folder that
// serves it (`{"handler": "sentiment", ...}`); the rest of the file and the directory are the
// handler's business (its modelFn reads them), which is how one handler serves many artifacts.
import { readFile, stat } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** model.json is a few fields; anything bigger is not a manifest. */
export const MAX_MANIFEST_BYTES = 1024 * 1024

export interface ModelManifest {
  handler: string
}

/** The artifact (or the load request pointing at it) is wrong: the load is answered 400. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError'
}

/**
 * The load request's `url` as a directory path: an absolute path, or a `file:` URL. SageMaker hands a
 * container a local directory (/opt/ml/models/<id>/model); a relative path would depend on the host's
 * working directory, so it is refused.
 */
export function modelDirOf(url: string): string {
  let dir = url
  if (url.startsWith('file:')) {
    try {
      dir = fileURLToPath(url)
    } catch (err) {
      throw new ManifestError(`"url" ${JSON.stringify(url)} is not a valid file URL: ${(err as Error).message}`)
    }
  }
  if (!isAbsolute(dir)) throw new ManifestError(`"url" must be an absolute local directory, not ${JSON.stringify(url)}`)
  return dir
}

/** Reads and checks `<modelDir>/model.json`; every failure says which file and what is wrong. */
export async function readModelManifest(modelDir: string): Promise<ModelManifest> {
  const path = join(modelDir, 'model.json')
  let raw: string
  try {
    const { size } = await stat(path)
    if (size > MAX_MANIFEST_BYTES) throw new ManifestError(`${path} is ${size} bytes, over the ${MAX_MANIFEST_BYTES} allowed`)
    raw = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof ManifestError) throw err
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'it is missing' : (err as Error).message
    throw new ManifestError(`cannot read ${path}: ${why}`, { cause: err })
  }
  let manifest: unknown
  try {
    manifest = JSON.parse(raw)
  } catch (err) {
    throw new ManifestError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new ManifestError(`${path} must be a JSON object like {"handler": "<folder under handlers/>"}`)
  }
  const { handler } = manifest as { handler?: unknown }
  if (typeof handler !== 'string' || handler === '') {
    throw new ManifestError(`${path} must name its handler: {"handler": "<folder under handlers/>"}`)
  }
  return { handler }
}
