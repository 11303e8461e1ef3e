import type { Authenticate } from './auth.js'
import { readSmallBody, type SmallBody } from './request-body.js'
import type { RequestContext, RouteHandler } from './router.js'

export type OperationHandler = (ctx: RequestContext, body: SmallBody) => Promise<void>

/**
 * Wraps a runtime API operation: reads its (bounded) body, then checks the SigV4 signature before
 * anything else, as AWS does (an unsigned or badly signed request learns nothing about endpoints).
 */
export function awsOperation(authenticate: Authenticate, maxBodyBytes: number, handler: OperationHandler): RouteHandler {
  return async (ctx) => {
    const body = await readSmallBody(ctx.req, maxBodyBytes)
    const denied = authenticate(ctx.req, body.sha256Hex)
    if (denied !== undefined) throw denied
    await handler(ctx, body)
  }
}
