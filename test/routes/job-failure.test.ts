import pino from 'pino'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

t.test("a failed job: the client gets the code's summary, the log gets the model's text once", async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  const { app, store } = await buildTestApp({ logger })
  t.teardown(() => app.close())
  const id = (await app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'Some text.' })).json().id as string
  const modelText = `Traceback:\r\n  File "/opt/ml/code/secret.py"\u001b[31m <script>${'x'.repeat(3000)}`
  await store.putSmall({ bucket: 'out', key: `failures/${id}-error.out` }, JSON.stringify({ error: modelText }), 'application/json')

  for (let i = 0; i < 3; i++) {
    const job = (await app.inject(`/jobs/${id}`)).json()
    t.equal(job.status, 'failed')
    t.same(job.error, { code: 'ModelError', message: 'The model failed to process the input.' })
  }
  const result = await app.inject(`/jobs/${id}/result`)
  t.equal(result.statusCode, 409)
  t.notMatch(result.body, /secret|Traceback/, 'the result route does not leak it either')

  const logged = lines.filter((l) => l.msg === 'job failed')
  t.equal(logged.length, 1, 'logged once, on the first read')
  t.match(logged[0], { level: 40, jobId: id, model: 'text', code: 'ModelError' })
  const message = logged[0]!.modelMessage as string
  t.match(message, /^Traceback: +File "\/opt\/ml\/code\/secret.py" \[31m <script>x+…$/)
  t.equal(message.length, 2001, 'clipped to 2,000 characters and the ellipsis')
  t.notMatch(message, /[\u0000-\u001f]/, 'no control characters')
})

t.test('an expired request is logged once too, with its code', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  const { app, store } = await buildTestApp({ logger })
  t.teardown(() => app.close())
  const id = (await app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'Some text.' })).json().id as string
  await store.putSmall({ bucket: 'out', key: `failures/${id}-error.out` }, '{"errorCode":"RequestExpired","errorMessage":"Request expired"}', 'application/json')
  for (let i = 0; i < 2; i++) {
    const job = (await app.inject(`/jobs/${id}`)).json()
    t.equal(job.status, 'expired')
    t.same(job.error, { code: 'RequestExpired', message: 'The request expired in the queue before the model processed it.' })
  }
  t.match(lines.filter((l) => l.msg === 'job expired'), [{ jobId: id, code: 'RequestExpired', modelMessage: 'Request expired' }])
  t.equal(lines.filter((l) => l.msg === 'job expired').length, 1)
})
