// A text request without a content type (InvokeEndpointAsync without ContentType, the seeds' call)
// is decided from its body, as the Hugging Face toolkit's text pipelines do.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { handler as sentiment } from '../../handlers/sentiment/index.js'
import { readTextBody, sniffTextType } from '../../handlers/text-inputs.js'
import { createFileBody } from '../../src/local/model-host/spooled-body.js'
import { makeContext, memoryBody } from './invocation-fixtures.js'
import { invokeSummarize, SOLAR_TEXT } from './summarize/invoke-summarize.js'

const TEXT = SOLAR_TEXT.join(' ')

t.test('sniffTextType: a JSON object with "inputs" is JSON, anything else is plain text', async (t) => {
  t.equal(sniffTextType('{"inputs": "a text"}'), 'application/json')
  t.equal(sniffTextType(' \n{"inputs": ["a", "b"], "parameters": {}}'), 'application/json')
  t.equal(sniffTextType('{"text": "no inputs"}'), 'text/plain')
  t.equal(sniffTextType('{not json at all. A sentence.'), 'text/plain')
  t.equal(sniffTextType('["a list"]'), 'text/plain')
  t.equal(sniffTextType('Plain words.'), 'text/plain')
})

t.test('no content type and application/octet-stream are both undeclared; declared types are not sniffed', async (t) => {
  for (const type of ['', 'application/octet-stream']) {
    const json = await readTextBody(memoryBody(Buffer.from('{"inputs": "x"}'), type), type, 1024)
    t.equal(json.type, 'application/json', `${JSON.stringify(type)}: JSON`)
    const plain = await readTextBody(memoryBody(Buffer.from('x'), type), type, 1024)
    t.equal(plain.type, 'text/plain', `${JSON.stringify(type)}: text`)
  }
  const declared = await readTextBody(memoryBody(Buffer.from('{"inputs": "x"}'), 'text/plain'), 'text/plain', 1024)
  t.equal(declared.type, 'text/plain', 'a declared type wins over the body')
  await t.rejects(readTextBody(memoryBody(Buffer.from('x'), 'text/html'), 'text/html', 1024), { name: 'HandlerError', statusCode: 415 })
})

t.test('an undeclared body that is not UTF-8 text is a 415, not a 400', async (t) => {
  // Through the host's own body, whose strict UTF-8 decoding is a HandlerError 400.
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff])
  const path = join(t.testdir(), 'body')
  await writeFile(path, bytes)
  await t.rejects(readTextBody(createFileBody(path, bytes.length, ''), '', 1024), { name: 'HandlerError', statusCode: 415, message: /no content type.*not UTF-8/ })
})

t.test('summarize without a content type: plain text and {"inputs"} give the declared answers', async (t) => {
  const declared = await invokeSummarize(t.testdir(), TEXT, 'text/plain')
  const plain = await invokeSummarize(t.testdir(), TEXT, '')
  t.equal(String(plain.body), String(declared.body))
  const withParameters = JSON.stringify({ inputs: TEXT, parameters: { max_sentences: 1 } })
  const json = await invokeSummarize(t.testdir(), withParameters, '')
  const [result] = JSON.parse(String(json.body)) as Array<{ summary_text: string }>
  t.equal(result!.summary_text.split('. ').length, 1, 'the JSON parameters were read')
})

t.test('sentiment without a content type reads the body the same way', async (t) => {
  const ctx = makeContext()
  const plain = await sentiment.inputFn(memoryBody(Buffer.from('I love it'), ''), '', ctx)
  const json = await sentiment.inputFn(memoryBody(Buffer.from('{"inputs": ["I love it", "awful"]}'), ''), '', ctx)
  t.match(plain, { texts: ['I love it'], isList: false })
  t.match(json, { texts: ['I love it', 'awful'], isList: true })
})
