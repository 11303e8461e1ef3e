// Builds what the model host hands a handler, for calling handlers directly in unit tests.
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pino } from 'pino'
import { HandlerError, type HandlerOutput, type InvocationBody, type InvocationContext } from '../../handlers/handler.js'
import type { Handler } from '../../handlers/handler.js'
import { createFileBody } from '../../src/local/model-host/spooled-body.js'

export function makeContext(overrides: Partial<InvocationContext> = {}): InvocationContext {
  return {
    customAttributes: {},
    accept: '*/*',
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
    ...overrides,
  }
}

/** Runs modelFn → inputFn → predictFn → outputFn on a file, as the host does. */
export async function invokeFile(
  handler: Handler,
  path: string,
  contentType: string,
  ctx: InvocationContext = makeContext(),
): Promise<HandlerOutput> {
  const { size } = await stat(path)
  const model = await handler.modelFn(undefined)
  const input = await handler.inputFn(createFileBody(path, size, contentType), contentType, ctx)
  const prediction = await handler.predictFn(input, model, ctx)
  return handler.outputFn(prediction, ctx.accept, ctx)
}

/** Same, with the body written to `<dir>/body` first. */
export async function invokeBytes(
  handler: Handler,
  dir: string,
  body: string | Buffer,
  contentType: string,
  ctx?: InvocationContext,
): Promise<HandlerOutput> {
  const path = join(dir, 'body')
  await writeFile(path, body)
  return invokeFile(handler, path, contentType, ctx)
}

/**
 * An InvocationBody over bytes in memory, with the host's behaviour: a size limit (413) and strict
 * UTF-8 decoding for text.
 */
export function memoryBody(bytes: Buffer, contentType: string): InvocationBody {
  const read = async (maxBytes?: number): Promise<Buffer> => {
    if (maxBytes !== undefined && bytes.length > maxBytes) throw new HandlerError(413, 'over the limit')
    return bytes
  }
  return {
    path: '/nonexistent',
    sizeBytes: bytes.length,
    contentType,
    buffer: read,
    text: async (maxBytes) => new TextDecoder('utf-8', { fatal: true }).decode(await read(maxBytes)),
    stream: () => Readable.from([bytes]),
  }
}
