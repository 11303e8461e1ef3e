// A handler plus the model its modelFn loaded. The single-model container holds one; the multi-model
// `/models` API (next issue) will keep a registry of these, loaded and unloaded by name.
import type { Logger } from 'pino'
import type { Handler } from '../../../handlers/handler.js'

export type ModelState = 'loading' | 'ready' | 'failed'

export interface LoadedModel {
  readonly name: string
  readonly handler: Handler
  readonly modelDir: string | undefined
  readonly state: ModelState
  /** modelFn's result; only meaningful when state is 'ready'. */
  readonly model: unknown
  readonly error: Error | undefined
  /** Settles when modelFn does; rejects with its error. */
  readonly ready: Promise<void>
}

/**
 * Starts modelFn in the background and returns at once, as a container does: `GET /ping` answers
 * 503 until the model is loaded (SageMaker polls it before routing traffic).
 */
export function loadModel(name: string, handler: Handler, modelDir: string | undefined, logger: Logger): LoadedModel {
  let state: ModelState = 'loading'
  let model: unknown
  let error: Error | undefined
  const startedAt = Date.now()
  const ready = (async () => {
    try {
      model = await handler.modelFn(modelDir)
      state = 'ready'
      logger.info({ model: name, loadMs: Date.now() - startedAt }, 'model loaded')
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err))
      state = 'failed'
      logger.error({ model: name, err }, 'model failed to load')
      throw error
    }
  })()
  // Callers may never await `ready`; a failed load must not become an unhandled rejection.
  ready.catch(() => {})
  return {
    name,
    handler,
    modelDir,
    get state() {
      return state
    },
    get model() {
      return model
    },
    get error() {
      return error
    },
    ready,
  }
}
