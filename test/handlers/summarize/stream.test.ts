import t from 'tap'
import { type ContainerEnv, isStreamedOutput } from '../../../handlers/handler.js'
import { handler } from '../../../handlers/summarize/index.js'
import { makeContext } from '../invocation-fixtures.js'
import { invokeSummarize, readChunks, runSummarize, SOLAR_TEXT } from './invoke-summarize.js'

const TEXT = SOLAR_TEXT.join(' ')
const STREAM = { SUMMARIZE_STREAM: 'true' }

t.test('modelFn reads SUMMARIZE_STREAM from the container env', async (t) => {
  t.same(await handler.modelFn(undefined, STREAM), { stream: true })
  const others: Array<ContainerEnv | undefined> = [{}, { SUMMARIZE_STREAM: 'false' }, { SUMMARIZE_STREAM: '1' }, undefined]
  for (const env of others) {
    t.same(await handler.modelFn(undefined, env), { stream: false }, JSON.stringify(env))
  }
})

t.test('SUMMARIZE_STREAM=true: one JSON line per selected sentence, each its own chunk, in order', async (t) => {
  const output = await runSummarize(t.testdir(), TEXT, 'text/plain', makeContext(), STREAM)
  t.equal(output.contentType, 'application/jsonlines')
  const chunks = await readChunks(output)
  t.equal(chunks.length, 3)
  for (const chunk of chunks) t.match(chunk, /^\{"summary_text":"[^\n]+"\}\n$/, 'one whole line per chunk')
  const streamed = chunks.map((chunk) => (JSON.parse(chunk) as { summary_text: string }).summary_text)
  const [whole] = JSON.parse(String((await invokeSummarize(t.testdir(), TEXT, 'text/plain')).body)) as Array<{ summary_text: string }>
  t.equal(streamed.join(' '), whole!.summary_text, 'the same sentences as the whole answer, in the same order')
})

t.test('a streaming container still answers whole JSON to Accept: application/json', async (t) => {
  const output = await runSummarize(t.testdir(), TEXT, 'text/plain', makeContext({ accept: 'application/json' }), STREAM)
  t.notOk(isStreamedOutput(output))
  t.equal(output.contentType, 'application/json')
  t.equal(JSON.parse(String((output as { body: string }).body)).length, 1)
})

t.test('Accept: application/jsonlines is 406 without streaming, and text/csv is 406 with it', async (t) => {
  const jsonLines = makeContext({ accept: 'application/jsonlines' })
  await t.rejects(runSummarize(t.testdir(), TEXT, 'text/plain', jsonLines), { name: 'HandlerError', statusCode: 406 })
  const csv = makeContext({ accept: 'text/csv' })
  await t.rejects(runSummarize(t.testdir(), TEXT, 'text/plain', csv, STREAM), { name: 'HandlerError', statusCode: 406 })
})

t.test('the stream stops when ctx.signal aborts', async (t) => {
  const controller = new AbortController()
  const output = await runSummarize(t.testdir(), TEXT, 'text/plain', makeContext({ signal: controller.signal }), STREAM)
  if (!isStreamedOutput(output)) throw new Error('expected a stream')
  const iterator = output.stream[Symbol.asyncIterator]()
  t.notOk((await iterator.next()).done)
  controller.abort(new Error('client gone'))
  await t.rejects(iterator.next(), { message: 'client gone' })
})
