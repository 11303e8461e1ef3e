// Runs the summarize handler as the host does, in either of its modes: the shared
// invocation-fixtures helpers only take handlers that answer whole, and summarize may stream.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type AnyHandlerOutput, type ContainerEnv, type HandlerOutput, type InvocationContext, isStreamedOutput } from '../../../handlers/handler.js'
import { handler } from '../../../handlers/summarize/index.js'
import { createFileBody } from '../../../src/local/model-host/spooled-body.js'
import { makeContext } from '../invocation-fixtures.js'

/** modelFn(env) → inputFn → predictFn → outputFn on `body`, written to `<dir>/body` first. */
/**
 * Four sentences about solar power share vocabulary; the two off-topic ones share none with them,
 * so a good summary picks solar sentences only.
 */
export const SOLAR_TEXT = [
  'Solar power is growing quickly around the world.',
  'My cat likes to sleep on the warm sofa.',
  'Solar panels convert sunlight into electricity for homes.',
  'Many homes now install solar panels on their roofs to produce electricity.',
  'Yesterday it rained in the afternoon.',
  'The price of solar electricity keeps falling as solar panels become cheaper.',
]

export async function runSummarize(
  dir: string,
  body: string | Buffer,
  contentType: string,
  ctx: InvocationContext = makeContext(),
  env: ContainerEnv = {},
): Promise<AnyHandlerOutput> {
  const path = join(dir, 'body')
  await writeFile(path, body)
  const model = await handler.modelFn(undefined, env)
  const input = await handler.inputFn(createFileBody(path, Buffer.byteLength(body), contentType), contentType, ctx)
  const prediction = await handler.predictFn(input, model, ctx)
  return handler.outputFn(prediction, ctx.accept, ctx)
}

/** The default (non-streaming) container: the answer must be whole. */
export async function invokeSummarize(dir: string, body: string | Buffer, contentType: string, ctx?: InvocationContext): Promise<HandlerOutput> {
  const output = await runSummarize(dir, body, contentType, ctx)
  if (isStreamedOutput(output)) throw new Error('expected a whole answer, got a stream')
  return output
}

/** Every chunk of a streamed answer, as strings. */
export async function readChunks(output: AnyHandlerOutput): Promise<string[]> {
  if (!isStreamedOutput(output)) throw new Error('expected a streamed answer')
  const chunks: string[] = []
  for await (const chunk of output.stream) chunks.push(String(chunk))
  return chunks
}
