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
  /** Multi-model: the caller's TargetModel, passed as `X-Amzn-SageMaker-Target-Model`. */
  targetModel?: string
  /** Default `invocations`; multi-model calls use `models/{name}/invoke`. */
  path?: string
  signal: AbortSignal
}

/**
 * `POST {container}/invocations` as SageMaker sends it (container contract: Content-Type, Accept,
 * X-Amzn-SageMaker-Custom-Attributes, X-Amzn-SageMaker-Target-Model, X-Amzn-SageMaker-Inference-Id),
 * with a Content-Length so the container never sees a chunked body. Resolves with the response as soon
 * as its head arrives; the caller streams (or drains) the body. The signal aborts both directions.
 */
export function postInvocations(call: ContainerInvocation): Promise<IncomingMessage> {
  const headers: Record<string, string> = { 'Content-Length': String(call.contentLengthBytes) }
  if (call.contentType !== undefined) headers['Content-Type'] = call.contentType
  if (call.accept !== undefined) headers['Accept'] = call.accept
  if (call.customAttributes !== undefined) headers['X-Amzn-SageMaker-Custom-Attributes'] = call.customAttributes
  if (call.targetModel !== undefined) headers['X-Amzn-SageMaker-Target-Model'] = call.targetModel
  if (call.inferenceId !== undefined) headers['X-Amzn-SageMaker-Inference-Id'] = call.inferenceId
  return containerRequest({
    containerUrl: call.containerUrl,
    path: call.path ?? 'invocations',
    method: 'POST',
    headers,
    body: call.body,
    signal: call.signal,
  })
}

export interface ContainerRequest {
  containerUrl: string
  /** Relative to the container URL, already percent-encoded. */
  path: string
  method: string
  headers: Record<string, string>
  body?: Readable | Buffer
  signal: AbortSignal
}

/** One HTTP request to a container; resolves at the response head (see postInvocations). */
export function containerRequest(call: ContainerRequest): Promise<IncomingMessage> {
  const url = new URL(call.path, call.containerUrl.endsWith('/') ? call.containerUrl : `${call.containerUrl}/`)
  const send = url.protocol === 'https:' ? httpsRequest : request
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, { method: call.method, headers: call.headers, signal: call.signal })
    let responded = false
    req.once('response', (res) => {
      responded = true
      resolve(res)
    })
    req.once('error', (err) => {
      if (!responded) reject(err)
    })
    if (call.body === undefined || Buffer.isBuffer(call.body)) {
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

/** The errno code of a failed request; Node reports a failed connect to several addresses as an AggregateError. */
export function networkErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') return code
  const first = err instanceof AggregateError ? (err.errors[0] as { code?: unknown } | undefined)?.code : undefined
  return typeof first === 'string' ? first : undefined
}

/** The response's Content-Length when it sent a valid one. */
export function contentLengthOf(res: IncomingMessage): number | undefined {
  const raw = res.headers['content-length']
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined
  return Number(raw)
}

export class ResponseTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`response larger than ${maxBytes} bytes`)
  }
}

/**
 * Reads a response body that must stay small (≤ `maxBytes`), failing fast with ResponseTooLargeError
 * (from the Content-Length when there is one, else as soon as the count passes the limit; chunked
 * answers are counted as they arrive).
 */
export async function readBoundedBody(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = contentLengthOf(res)
  if (declared !== undefined && declared > maxBytes) {
    res.destroy()
    throw new ResponseTooLargeError(maxBytes)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) {
      res.destroy()
      throw new ResponseTooLargeError(maxBytes)
    }
    chunks.push(chunk)
  }
  // A response cut short may end the iteration without an error: only a complete message counts.
  if (!res.complete || (declared !== undefined && size !== declared)) throw new Error('the container closed the connection mid-response')
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

/** Keeps the first `maxBytes` of a body (error messages) and drains the rest. */
export async function readHead(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let kept = 0
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (kept < maxBytes) {
      const take = chunk.subarray(0, maxBytes - kept)
      chunks.push(take)
      kept += take.length
    }
  }
  return Buffer.concat(chunks)
}
