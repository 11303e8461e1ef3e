import type { FastifyInstance } from 'fastify'
import { mayUse } from '../services/keyring.js'
import { toModelView, type ModelRegistry } from '../services/model-registry.js'

export function modelRoutes(models: ModelRegistry) {
  return async (app: FastifyInstance) => {
    // Only the models the caller's key may use.
    app.get('/models', async (request) => ({ models: (await models.list()).filter((m) => mayUse(request.principal, m.name)) }))
    app.get<{ Params: { name: string } }>('/models/:name', async (request) => toModelView(await models.get(request.params.name)))
  }
}
