import { ConstraintCollector } from './constraints.js'
import { messages, RuntimeError, validationError } from './errors.js'
import {
  checkCustomAttributes,
  checkEnableExplanations,
  checkEndpointName,
  checkInferenceComponentName,
  checkInferenceId,
  checkMediaTypeHeader,
  checkSessionId,
  checkTargetModel,
  checkVariantLike,
  header,
} from './headers.js'
import { invokeMultiModel, invokeSingleModel, type RealtimeInput } from './realtime-invoke.js'
import type { RealtimeEndpoint } from './realtime-endpoints.js'
import type { EndpointRegistry } from './registry.js'
import type { SmallBody } from './request-body.js'
import { invokeWithResponseStream } from './response-stream.js'
import type { RequestContext } from './router.js'

/** InvokeEndpoint's Body limit (6 MiB, sagemaker-notes). */
export const INVOKE_BODY_MAX_BYTES = 6 * 1024 * 1024

export interface InvokeDeps {
  registry: EndpointRegistry
  /** Real-time endpoints by exact name. */
  realtime: ReadonlyMap<string, RealtimeEndpoint>
  accountId: string
}

export type InvokeOperation = 'InvokeEndpoint' | 'InvokeEndpointWithResponseStream'

/**
 * InvokeEndpoint and InvokeEndpointWithResponseStream: validation in the input structures' member
 * order (all violations at once, as AWS reports them), then the endpoint; an async endpoint accepts
 * only async calls.
 */
export function createInvokeEndpoint(deps: InvokeDeps, operation: InvokeOperation) {
  return async (ctx: RequestContext, body: SmallBody): Promise<void> => {
    const input = readInput(ctx, body, operation)
    const endpoint = deps.registry.resolve(input.endpointName)
    if (endpoint instanceof RuntimeError) throw endpoint
    const realtime = deps.realtime.get(endpoint.name)
    if (endpoint.mode === 'async' || realtime === undefined) {
      throw validationError(messages.asyncEndpointInvokedSynchronously(input.endpointName, deps.accountId))
    }
    if (operation === 'InvokeEndpointWithResponseStream') {
      // The streaming input has no TargetModel member, so a multi-model endpoint cannot be addressed.
      if (realtime.models !== undefined) throw validationError(messages.streamOnMultiModel(endpoint.name))
      return await counted(realtime, () => invokeWithResponseStream(ctx, input, realtime))
    }
    if (realtime.models === undefined) {
      if (input.targetModel !== undefined) throw validationError(messages.notMultiModel(endpoint.name))
      return await counted(realtime, () => invokeSingleModel(ctx, input, realtime))
    }
    if (input.targetModel === undefined) throw validationError(messages.missingTargetModel(ctx.requestId))
    const targetModel = input.targetModel
    return await counted(realtime, () => invokeMultiModel(ctx, input, realtime, targetModel))
  }
}

/** Invocations (CloudWatch: every call that reached the endpoint) and the ModelErrors among them. */
async function counted(realtime: RealtimeEndpoint, run: () => Promise<boolean>): Promise<void> {
  const c = realtime.counters
  c.invocations++
  c.inFlight++
  try {
    if (!(await run())) c.modelErrors++
  } catch (err) {
    if (err instanceof RuntimeError && err.errorType === 'ModelError') c.modelErrors++
    throw err
  } finally {
    c.inFlight--
  }
}

function readInput(ctx: RequestContext, body: SmallBody, operation: InvokeOperation): RealtimeInput {
  const h = ctx.req.headers
  const streaming = operation === 'InvokeEndpointWithResponseStream'
  const input: RealtimeInput = {
    endpointName: ctx.params['EndpointName'] ?? '',
    body: body.bytes,
    contentType: header(h, 'content-type'),
    // InvokeEndpointWithResponseStream takes Accept as X-Amzn-SageMaker-Accept (sagemaker-notes).
    accept: header(h, streaming ? 'x-amzn-sagemaker-accept' : 'accept'),
    customAttributes: header(h, 'x-amzn-sagemaker-custom-attributes'),
    // Not a member of the streaming input: a stray header there is ignored, as undeclared headers are.
    targetModel: streaming ? undefined : header(h, 'x-amzn-sagemaker-target-model'),
    inferenceId: header(h, 'x-amzn-sagemaker-inference-id'),
  }
  const c = new ConstraintCollector()
  checkEndpointName(c, input.endpointName)
  // Body (BodyBlob, sensitive): ≤ 6 MiB; reported without its value.
  if (body.sizeBytes > INVOKE_BODY_MAX_BYTES) c.length('body', '', undefined, INVOKE_BODY_MAX_BYTES, true, body.sizeBytes)
  checkMediaTypeHeader(c, 'contentType', input.contentType)
  checkMediaTypeHeader(c, 'accept', input.accept)
  checkCustomAttributes(c, input.customAttributes)
  checkTargetModel(c, input.targetModel)
  checkVariantLike(c, 'targetVariant', header(h, 'x-amzn-sagemaker-target-variant'))
  checkVariantLike(c, 'targetContainerHostname', header(h, 'x-amzn-sagemaker-target-container-hostname'))
  checkInferenceId(c, input.inferenceId)
  if (!streaming) checkEnableExplanations(c, header(h, 'x-amzn-sagemaker-enable-explanations'))
  checkInferenceComponentName(c, header(h, 'x-amzn-sagemaker-inference-component'))
  checkSessionId(c, header(h, 'x-amzn-sagemaker-session-id'), !streaming)
  const invalid = c.toError()
  if (invalid !== undefined) throw invalid
  return input
}
