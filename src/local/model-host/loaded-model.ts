// A handler plus the model its modelFn loaded. The single-model container holds one; the multi-model
// container keeps a registry of these (model-registry.ts), loaded and unloaded by name.
import type { Logger } from 'pino'
import type { ContainerEnv } from '../../../handlers/handler.js'
import type { HostedHandler } from './handler-loader.js'

export type ModelState = 'loading' | 'ready' | 'failed'

export interface LoadedModel {
  readonly name: string
  readonly handler: HostedHandler
  readonly modelDir: string | undefined
  /** The container's environment: given to modelFn and put on every InvocationContext. */
  readonly env: ContainerEnv
  readonly state: ModelState
  /** modelFn's result; only meaningful when state is 'ready'. */
  readonly model: unknown
  readonly error: Error | undefined
  /** Settles when modelFn does; rejects with its error. */
  readonly ready: Promise<void>
}

export interface LoadModelOptions {
  name: string
  handler: HostedHandler
  modelDir: string | undefined
  env: ContainerEnv
  logger: Logger
}

/**
 * Starts modelFn in the background and returns at once, as a container does: `GET /ping` answers
 * 503 until the model is loaded (SageMaker polls it before routing traffic). A multi-model load
 * awaits `ready` instead.
 */
export function loadModel(options: LoadModelOptions): LoadedModel {
  const { name, handler, modelDir, env, logger } = options
  let state: ModelState = 'loading'
  let model: unknown
  let error: Error | undefined
  const startedAt = Date.now()
  const ready = (async () => {
    try {
      model = await handler.modelFn(modelDir, env)
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
    env,
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
