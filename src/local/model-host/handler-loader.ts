// Finds and imports handler modules: `<handlersDir>/<name>/index.{ts,js}` exporting `handler`.
import { access } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { AnyHandlerOutput, Handler } from '../../../handlers/handler.js'

/** What the host runs: any handler, whether it answers whole or streamed. */
export type HostedHandler = Handler<unknown, unknown, unknown, AnyHandlerOutput>

const ownPath = fileURLToPath(import.meta.url)

/**
 * The repo's handlers/ folder, relative to this module: src/local/model-host/ → handlers/ when run
 * as TypeScript (tap's loader), dist/src/local/model-host/ → dist/handlers/ when compiled.
 */
export const defaultHandlersDir: string = fileURLToPath(new URL('../../../handlers/', import.meta.url))

/** Handler names are folder names: no separators or dots, so a name cannot leave handlersDir. */
const HANDLER_NAME = /^[a-z0-9][a-z0-9_-]*$/i

/**
 * `invalid-name` and `not-found` say the name is wrong (a multi-model artifact's model.json is then at
 * fault: 400); `import-failed` and `bad-export` say the handler module itself is broken.
 */
export type HandlerLoadErrorCode = 'invalid-name' | 'not-found' | 'import-failed' | 'bad-export'

export class HandlerLoadError extends Error {
  override readonly name = 'HandlerLoadError'

  constructor(
    readonly code: HandlerLoadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}

function isHandler(value: unknown): value is HostedHandler {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as Record<string, unknown>
  const required = ['modelFn', 'inputFn', 'predictFn', 'outputFn'].every((fn) => typeof candidate[fn] === 'function')
  return required && (candidate.unloadFn === undefined || typeof candidate.unloadFn === 'function')
}

/**
 * Imports `<handlersDir>/<name>/index.<ext>`, preferring the extension this module runs with (so
 * compiled code loads compiled handlers) and falling back to the other one.
 */
export async function loadHandler(handlersDir: string, name: string): Promise<HostedHandler> {
  if (!HANDLER_NAME.test(name)) throw new HandlerLoadError('invalid-name', `invalid handler name "${name}"`)
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
    throw new HandlerLoadError('not-found', `unknown handler "${name}": none of ${candidates.join(', ')} exists`)
  }
  let module: { handler?: unknown }
  try {
    module = (await import(pathToFileURL(file).href)) as { handler?: unknown }
  } catch (err) {
    throw new HandlerLoadError('import-failed', `cannot import handler "${name}" from ${file}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  if (!isHandler(module.handler)) {
    throw new HandlerLoadError(
      'bad-export',
      `handler "${name}" (${file}) must export \`handler\` with modelFn, inputFn, predictFn and outputFn (and unloadFn, if any, a function)`,
    )
  }
  return module.handler
}

export interface HandlerCache {
  /** The handler module named `name`, imported once per host (many artifacts share one handler). */
  get(name: string): Promise<HostedHandler>
}

/** Caches imports by name; a failed import is not cached, so a fixed handler folder is picked up. */
export function createHandlerCache(handlersDir: string): HandlerCache {
  const cache = new Map<string, Promise<HostedHandler>>()
  return {
    get(name) {
      let loading = cache.get(name)
      if (loading === undefined) {
        loading = loadHandler(handlersDir, name)
        cache.set(name, loading)
        loading.catch(() => cache.delete(name))
      }
      return loading
    },
  }
}
