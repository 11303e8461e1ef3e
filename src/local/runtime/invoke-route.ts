import { ConstraintCollector } from './constraints.js'
import { messages, RuntimeError, validationError } from './errors.js'
import { checkEndpointName } from './headers.js'
import type { EndpointRegistry } from './registry.js'
import type { RequestContext } from './router.js'

/** InvokeEndpoint's Body limit (6 MiB, sagemaker-notes). */
export const INVOKE_BODY_MAX_BYTES = 6 * 1024 * 1024

export interface InvokeDeps {
  registry: EndpointRegistry
  accountId: string
}

/**
 * InvokeEndpoint and InvokeEndpointWithResponseStream. An async endpoint accepts only async calls,
 * so those answer a ValidationError here. Real-time endpoints (and multi-model TargetModel routing)
 * plug in at `invokeRealtime` in the next issue.
 */
export function createInvokeEndpoint(deps: InvokeDeps, operation: 'InvokeEndpoint' | 'InvokeEndpointWithResponseStream') {
  return async (ctx: RequestContext): Promise<void> => {
    const name = ctx.params['EndpointName'] ?? ''
    const c = new ConstraintCollector()
    checkEndpointName(c, name)
    const invalid = c.toError()
    if (invalid !== undefined) throw invalid
    const endpoint = deps.registry.resolve(name)
    if (endpoint instanceof RuntimeError) throw endpoint
    if (endpoint.mode === 'async') throw validationError(messages.asyncEndpointInvokedSynchronously(name, deps.accountId))
    invokeRealtime(operation, endpoint.name)
  }
}

function invokeRealtime(operation: string, endpointName: string): never {
  // 400, not 5xx: the SDKs retry 5xx three times, which would only triple the noise.
  throw validationError(`${operation}: ${messages.realtimeNotImplemented(endpointName)}`)
}
