import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { DEFAULT_CONTENT_TYPE, handler, MAX_ECHO_BYTES } from '../../handlers/echo/index.js'
import { HandlerError, type HandlerOutput } from '../../handlers/handler.js'
import { makeContext, memoryBody } from './invocation-fixtures.js'

const modelDir = join(fileURLToPath(new URL('../../handlers/', import.meta.url)), 'echo', 'model')


async function echo(bytes: Buffer, contentType: string, accept = '*/*'): Promise<HandlerOutput> {
  const ctx = makeContext({ accept })
  const model = await handler.modelFn(modelDir)
  const input = await handler.inputFn(memoryBody(bytes, contentType), contentType, ctx)
  return handler.outputFn(await handler.predictFn(input, model, ctx), ctx.accept, ctx)
}

function bytesOf(output: HandlerOutput): Buffer {
  return Buffer.isBuffer(output.body) ? output.body : Buffer.from(output.body, 'utf8')
}

t.test('a random binary body comes back byte for byte with its content type', async (t) => {
  const body = randomBytes(256 * 1024)
  const output = await echo(Buffer.from(body), 'application/octet-stream')
  t.ok(Buffer.isBuffer(output.body), 'the body is not re-encoded as a string')
  t.ok(bytesOf(output).equals(body))
  t.equal(output.contentType, 'application/octet-stream')
})

t.test('a Triton binary+json body keeps its bytes and its content type parameters', async (t) => {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
    }),
  )
  const tensor = Buffer.alloc(16)
  ;[1.5, -2.25, 0, 3.4e38].forEach((value, i) => tensor.writeFloatLE(value, i * 4))
  const body = Buffer.concat([header, tensor])
  const contentType = `application/vnd.sagemaker-triton.binary+json;json-header-size=${header.length}`
  const output = await echo(Buffer.from(body), contentType)
  t.ok(bytesOf(output).equals(body))
  t.equal(output.contentType, contentType)
})

t.test('KServe v2 JSON is not parsed or reformatted, and content type case and spacing survive', async (t) => {
  const body = Buffer.from('{ "inputs" : [ {"name":"x","shape":[2],"datatype":"INT32","data":[1, 2]} ] }\n')
  const contentType = 'Application/JSON ;  charset=UTF-8'
  const output = await echo(body, contentType)
  t.ok(bytesOf(output).equals(body))
  t.equal(output.contentType, contentType)
})

t.test('no content type answers application/octet-stream; an empty body stays empty', async (t) => {
  t.equal(DEFAULT_CONTENT_TYPE, 'application/octet-stream')
  const output = await echo(Buffer.alloc(0), '')
  t.equal(output.contentType, 'application/octet-stream')
  t.equal(bytesOf(output).length, 0)
})

t.test('Accept is ignored: echo answers with the request content type', async (t) => {
  const output = await echo(Buffer.from('a,b\n1,2\n'), 'text/csv', 'application/json')
  t.equal(output.contentType, 'text/csv')
  t.equal(bytesOf(output).toString(), 'a,b\n1,2\n')
})

t.test('a body over the real-time payload limit is refused with 413', async (t) => {
  t.equal(MAX_ECHO_BYTES, 6 * 1024 * 1024)
  await t.rejects(echo(Buffer.alloc(MAX_ECHO_BYTES + 1), 'application/octet-stream'), { name: 'HandlerError', statusCode: 413 })
})

t.test('model.json names the echo handler and loads without a model directory', async (t) => {
  const manifest = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')) as Record<string, unknown>
  t.match(manifest, { handler: 'echo', name: 'echo', version: 1 })
  t.equal(await handler.modelFn(undefined), null)
})
