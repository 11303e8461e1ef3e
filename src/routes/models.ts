import type { FastifyInstance } from 'fastify'
import { toModelView, type ModelRegistry } from '../services/model-registry.js'

export function modelRoutes(models: ModelRegistry) {
  return async (app: FastifyInstance) => {
    app.get('/models', async () => ({ models: await models.list() }))
    app.get<{ Params: { name: string } }>('/models/:name', async (request) => toModelView(await models.get(request.params.name)))
  }
}
