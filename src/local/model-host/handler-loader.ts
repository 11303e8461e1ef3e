// Finds and imports handler modules: `<handlersDir>/<name>/index.{ts,js}` exporting `handler`.
import { access } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Handler } from '../../../handlers/handler.js'

const ownPath = fileURLToPath(import.meta.url)

/**
 * The repo's handlers/ folder, relative to this module: src/local/model-host/ → handlers/ when run
 * as TypeScript (tap's loader), dist/src/local/model-host/ → dist/handlers/ when compiled.
 */
export const defaultHandlersDir: string = fileURLToPath(new URL('../../../handlers/', import.meta.url))

/** Handler names are folder names: no separators or dots, so a name cannot leave handlersDir. */
const HANDLER_NAME = /^[a-z0-9][a-z0-9_-]*$/i

export class HandlerLoadError extends Error {
  override readonly name = 'HandlerLoadError'
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

function isHandler(value: unknown): value is Handler {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  return ['modelFn', 'inputFn', 'predictFn', 'outputFn'].every((fn) => typeof candidate[fn] === 'function')
}

/**
 * Imports `<handlersDir>/<name>/index.<ext>`, preferring the extension this module runs with (so
 * compiled code loads compiled handlers) and falling back to the other one.
 */
export async function loadHandler(handlersDir: string, name: string): Promise<Handler> {
  if (!HANDLER_NAME.test(name)) throw new HandlerLoadError(`invalid handler name "${name}"`)
  const extensions = extname(ownPath) === '.ts' ? ['.ts', '.js'] : ['.js', '.ts']
  const candidates = extensions.map((ext) => join(handlersDir, name, `index${ext}`))
  let file: string | undefined
  for (const candidate of candidates) {
    if (await exists(candidate)) {
      file = candidate
      break
    }
  }
  if (file === undefined) {
    throw new HandlerLoadError(`unknown handler "${name}": none of ${candidates.join(', ')} exists`)
  }
  let module: { handler?: unknown }
  try {
    module = (await import(pathToFileURL(file).href)) as { handler?: unknown }
  } catch (err) {
    throw new HandlerLoadError(`cannot import handler "${name}" from ${file}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  if (!isHandler(module.handler)) {
    throw new HandlerLoadError(
      `handler "${name}" (${file}) must export \`handler\` with modelFn, inputFn, predictFn and outputFn`,
    )
  }
  return module.handler
}
