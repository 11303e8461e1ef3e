import Fastify, { type FastifyInstance } from 'fastify'
import { validatorCompiler } from 'fastify-type-provider-zod'
import { serializerCompiler } from '../../src/api/openapi.js'
import { registerErrorHandler } from '../../src/routes/error-handler.js'

/**
 * A Fastify app with only what a route plugin of the gateway needs to run alone: zod validation and
 * serialization, and the gateway's error handler (problem+json). For testing one plugin with its own
 * dependencies, where the whole app (buildApp) already registers that plugin with others.
 */
export function bareApp(): FastifyInstance {
  const app = Fastify()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  registerErrorHandler(app)
  return app
}
