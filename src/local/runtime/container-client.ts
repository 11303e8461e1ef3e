import { request, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

export interface ContainerInvocation {
  containerUrl: string
  /** Streamed as is; never buffered here. */
  body: Readable | Buffer
  contentLengthBytes: number
  contentType?: string
  accept?: string
  customAttributes?: string
  inferenceId?: string
  signal: AbortSignal
}

/**
 * `POST {container}/invocations` as SageMaker sends it (container contract: Content-Type, Accept,
 * X-Amzn-SageMaker-Custom-Attributes, X-Amzn-SageMaker-Inference-Id), with a Content-Length so the
 * container never sees a chunked body. Resolves with the response as soon as its head arrives; the
 * caller streams (or drains) the body. The signal aborts both directions.
 */
export function postInvocations(call: ContainerInvocation): Promise<IncomingMessage> {
  const url = new URL('invocations', call.containerUrl.endsWith('/') ? call.containerUrl : `${call.containerUrl}/`)
  const headers: Record<string, string> = { 'Content-Length': String(call.contentLengthBytes) }
  if (call.contentType !== undefined) headers['Content-Type'] = call.contentType
  if (call.accept !== undefined) headers['Accept'] = call.accept
  if (call.customAttributes !== undefined) headers['X-Amzn-SageMaker-Custom-Attributes'] = call.customAttributes
  if (call.inferenceId !== undefined) headers['X-Amzn-SageMaker-Inference-Id'] = call.inferenceId
  const send = url.protocol === 'https:' ? httpsRequest : request
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, { method: 'POST', headers, signal: call.signal })
    let responded = false
    req.once('response', (res) => {
      responded = true
      resolve(res)
    })
    req.once('error', (err) => {
      if (!responded) reject(err)
    })
    if (Buffer.isBuffer(call.body)) {
      req.end(call.body)
      return
    }
    // A container may answer (e.g. 400) before reading the whole body; a broken upload only matters
    // if no response came, and then the request's own 'error' reports it.
    pipeline(call.body, req).catch((err: unknown) => {
      if (!responded) req.destroy(err instanceof Error ? err : new Error(String(err)))
    })
  })
}
