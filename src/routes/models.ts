import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { json, keyedProblems, problem } from '../api/responses.js'
import { Model, ModelList, ModelParams } from '../api/schemas.js'
import { mayUse } from '../services/keyring.js'
import { toModelView, type ModelRegistry } from '../services/model-registry.js'

export function modelRoutes(models: ModelRegistry) {
  return async (plain: FastifyInstance) => {
    const app = plain.withTypeProvider<ZodTypeProvider>()
    // Only the models the caller's key may use.
    app.get(
      '/models',
      {
        schema: {
          tags: ['models'],
          summary: 'List the models this API key may use',
          description:
            "Explicitly configured models and the artifacts found under each multi-model endpoint's model prefix (listed in the background, served stale while refreshed).",
          operationId: 'listModels',
          response: { 200: json(ModelList, 'The models'), ...keyedProblems, 504: problem('S3 did not list the multi-model artifacts in time (`upstream_timeout`)') },
        },
      },
      async (request) => ({ models: (await models.list()).filter((m) => mayUse(request.principal, m.name)) }),
    )
    app.get(
      '/models/:name',
      {
        schema: {
          tags: ['models'],
          summary: 'Describe one model',
          operationId: 'getModel',
          params: ModelParams,
          response: {
            200: json(Model, 'The model'),
            403: problem('The API key may not use this model (`model_not_allowed`)'),
            404: problem('No such model (`model_not_found`)'),
            ...keyedProblems,
          },
        },
      },
      async (request) => toModelView(await models.get(request.params.name)),
    )
  }
}
