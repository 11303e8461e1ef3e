import type { ServerResponse } from 'node:http'
import { answerToModelError, exchange, type ContainerAnswer, type ExchangeCall } from './container-exchange.js'
import { invokePath } from './multi-model-container.js'
import type { RealtimeEndpoint } from './realtime-endpoints.js'
import type { RequestContext } from './router.js'

/** The validated members of InvokeEndpoint / InvokeEndpointWithResponseStream that reach the model. */
export interface RealtimeInput {
  endpointName: string
  body: Buffer
  contentType: string | undefined
  accept: string | undefined
  customAttributes: string | undefined
  targetModel: string | undefined
  inferenceId: string | undefined
}

/** The only production variant local endpoints have (CreateEndpointConfig's usual default name). */
export const INVOKED_PRODUCTION_VARIANT = 'AllTraffic'

/** Single-model InvokeEndpoint: the body to `POST /invocations`, the answer back byte for byte. */
export async function invokeSingleModel(ctx: RequestContext, input: RealtimeInput, rt: RealtimeEndpoint): Promise<boolean> {
  const answer = await exchange(containerCall(input, rt), { scope: rt.scope, timeoutMs: rt.containerTimeoutMs, signal: callerGone(ctx.res) })
  if (!isSuccess(answer)) throw answerToModelError(rt.scope, answer)
  sendAnswer(ctx.res, answer)
  return true
}

/**
 * Multi-model InvokeEndpoint: the TargetModel is loaded first if it is not (cold start, shared by
 * concurrent callers), then `POST /models/{id}/invoke`. A container 404 means it unloaded the model on
 * its own: reload once and call again.
 */
export async function invokeMultiModel(ctx: RequestContext, input: RealtimeInput, rt: RealtimeEndpoint, targetModel: string): Promise<boolean> {
  const models = rt.models!
  const signal = callerGone(ctx.res)
  for (let attempt = 1; ; attempt++) {
    const lease = await models.acquire(targetModel)
    let answer: ContainerAnswer
    try {
      answer = await exchange(
        { ...containerCall(input, rt), path: invokePath(lease.id), targetModel },
        { scope: rt.scope, timeoutMs: rt.containerTimeoutMs, signal },
      )
    } finally {
      lease.release()
    }
    if (answer.status === 404 && attempt === 1) {
      lease.lost()
      continue
    }
    if (!isSuccess(answer)) throw answerToModelError(rt.scope, answer)
    sendAnswer(ctx.res, answer)
    return true
  }
}

export function containerCall(input: RealtimeInput, rt: RealtimeEndpoint): ExchangeCall {
  return {
    containerUrl: rt.endpoint.containerUrl,
    body: input.body,
    contentLengthBytes: input.body.length,
    ...(input.contentType !== undefined ? { contentType: input.contentType } : {}),
    ...(input.accept !== undefined ? { accept: input.accept } : {}),
    ...(input.customAttributes !== undefined ? { customAttributes: input.customAttributes } : {}),
    ...(input.inferenceId !== undefined ? { inferenceId: input.inferenceId } : {}),
  }
}

/** Aborts when the caller's connection goes away before the answer was sent. */
export function callerGone(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the caller went away'))
  })
  return controller.signal
}

const isSuccess = (answer: ContainerAnswer): boolean => answer.status >= 200 && answer.status <= 299

/**
 * InvokeEndpointOutput: Body as the model wrote it, its Content-Type, x-Amzn-Invoked-Production-Variant
 * and, when the model set it, X-Amzn-SageMaker-Custom-Attributes.
 */
function sendAnswer(res: ServerResponse, answer: ContainerAnswer): void {
  const headers: Record<string, string> = {
    'x-Amzn-Invoked-Production-Variant': INVOKED_PRODUCTION_VARIANT,
    'Content-Length': String(answer.body.length),
  }
  const type = answer.headers['content-type']
  if (type !== undefined) headers['Content-Type'] = type
  const attributes = answer.headers['x-amzn-sagemaker-custom-attributes']
  if (typeof attributes === 'string') headers['X-Amzn-SageMaker-Custom-Attributes'] = attributes
  res.writeHead(200, headers)
  res.end(answer.body)
}
