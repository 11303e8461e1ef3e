// Reading a multi-model artifact's files. An artifact (`<name>.tar.gz` under the endpoint's S3 prefix,
// unpacked by the host into modelDir) carries `model.json` naming its handler, plus that handler's
// data files, so one handler serves many artifacts. Load errors name the file and what is wrong:
// they surface to the caller of a cold MME load.
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'

export interface ModelManifest {
  handler: string
  name: string
  version: number
  /** Handler-specific settings, unvalidated here. */
  [setting: string]: unknown
}

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError'
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads and parses `<modelDir>/<file>`; `file` must be a plain name so an artifact cannot point outside. */
export async function readModelJsonFile(modelDir: string, file: string): Promise<unknown> {
  if (file === '' || basename(file) !== file || file === '.' || file === '..') {
    throw new ModelLoadError(`invalid data file name ${JSON.stringify(file)}: it must be a file name in the model directory`)
  }
  const path = join(modelDir, file)
  let raw: string
  try {
    raw = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'it is missing' : (err as Error).message
    throw new ModelLoadError(`cannot read ${path}: ${why}`, { cause: err })
  }
  try {
    return JSON.parse(raw) as unknown
  } catch (err) {
    throw new ModelLoadError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
}

/** Reads `<modelDir>/model.json` and checks that the artifact is meant for `handler`. */
export async function readManifest(modelDir: string | undefined, handler: string): Promise<ModelManifest> {
  if (modelDir === undefined) {
    throw new ModelLoadError(`the ${handler} handler needs a model directory holding model.json and its data`)
  }
  const manifest = await readModelJsonFile(modelDir, 'model.json')
  const where = join(modelDir, 'model.json')
  if (!isPlainObject(manifest)) throw new ModelLoadError(`${where} must be a JSON object`)
  if (manifest.handler !== handler) {
    throw new ModelLoadError(`${where} names handler ${JSON.stringify(manifest.handler)}, not "${handler}"`)
  }
  if (typeof manifest.name !== 'string' || manifest.name === '') {
    throw new ModelLoadError(`${where} must have a non-empty "name"`)
  }
  if (typeof manifest.version !== 'number' || !Number.isInteger(manifest.version) || manifest.version < 1) {
    throw new ModelLoadError(`${where} must have an integer "version" of at least 1`)
  }
  return manifest as ModelManifest
}
