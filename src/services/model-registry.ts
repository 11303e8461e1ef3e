import type { ModelConfig } from '../config.js'
import { errors } from '../errors.js'

export type NamedModel = ModelConfig & { name: string }

/** Public description of a routable model (no buckets or credentials). */
export interface ModelView {
  name: string
  mode: ModelConfig['mode']
  endpointName: string
  contentTypes: string[]
  maxBytes: number
  description?: string
}

export interface ModelRegistry {
  list(): Promise<ModelView[]>
  /** The model, or a 404 AppError. */
  get(name: string): Promise<NamedModel>
}

export const toModelView = (m: NamedModel): ModelView => ({
  name: m.name,
  mode: m.mode,
  endpointName: m.endpointName,
  contentTypes: m.contentTypes,
  maxBytes: m.maxBytes,
  ...(m.description !== undefined ? { description: m.description } : {}),
})

export function createModelRegistry(models: Record<string, ModelConfig>): ModelRegistry {
  // Names come from URLs: look them up in an own-property map only, never on prototypes.
  const byName = new Map(Object.entries(models).map(([name, m]) => [name, { ...m, name }]))
  return {
    async list() {
      return [...byName.values()].map(toModelView).sort((a, b) => a.name.localeCompare(b.name))
    },
    async get(name) {
      const m = byName.get(name)
      if (m === undefined) throw errors.modelNotFound(name)
      return m
    },
  }
}
