import t from 'tap'
import { startTestStack } from '../helpers/stack.js'

const predict = async (baseUrl: string, model: string, inputs: string) => {
  const res = await fetch(`${baseUrl}/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) })
  return { status: res.status, body: (await res.json()) as any }
}

t.test('the demo models through the gateway: the README example, opinions in four languages, an honest refusal', async (t) => {
  const it = await startTestStack(t)
  const lang = await predict(it.baseUrl, 'language-id', 'Où est la gare ?')
  t.equal(lang.status, 200)
  t.equal(lang.body[0].language, 'fr', "the README's example answers fr")
  t.ok(lang.body[0].score < 1, 'a calibrated score, not 1.0')

  for (const [text, label] of [
    ['Le service était vraiment nul.', 'NEGATIVE'],
    ['Das ist nicht gut.', 'NEGATIVE'],
    ['Me encanta este lugar.', 'POSITIVE'],
    ['The soup was not good.', 'NEGATIVE'],
  ] as const) {
    const r = await predict(it.baseUrl, 'sentiment', text)
    t.equal(r.status, 200)
    t.equal(r.body[0].label, label, text)
  }
  const italian = await predict(it.baseUrl, 'sentiment', 'Questo ristorante è davvero meraviglioso, lo consiglio a tutti.')
  t.equal(italian.status, 422)
  t.match(italian.body, { code: 'unsupported_language', modelStatus: 422, modelMessage: /unsupported_language: / })
})
