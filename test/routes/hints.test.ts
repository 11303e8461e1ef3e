import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

t.test('the wrong route for a model names the route its mode needs', async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  const toPredict = await app.inject({ method: 'POST', url: '/models/text/predict', headers: { 'content-type': 'text/plain' }, payload: 'hi' })
  t.match(toPredict.json(), { status: 409, code: 'wrong_model_mode', mode: 'async', detail: 'Model "text" is an async model; use POST /models/text/jobs.' })
  const toJobs = await app.inject({ method: 'POST', url: '/models/live/jobs', headers: { 'content-type': 'text/plain' }, payload: 'hi' })
  t.match(toJobs.json(), { status: 409, code: 'wrong_model_mode', mode: 'realtime', detail: 'Model "live" is a real-time model; use POST /models/live/predict.' })
})

t.test('a 409 for a result not ready keeps status as the HTTP status and the job state in jobStatus', async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  const job = (await app.inject({ method: 'POST', url: '/models/text/jobs', headers: { 'content-type': 'text/plain' }, payload: 'Some text.' })).json()
  const res = await app.inject(`/jobs/${job.id}/result`)
  t.equal(res.statusCode, 409)
  t.match(res.json(), { status: 409, code: 'job_not_completed', jobStatus: 'in_progress' })
})

t.test("a real-time input over the model's limit is told which async model's route takes it", async (t) => {
  const { app } = await buildTestApp()
  t.teardown(() => app.close())
  // classify takes at most 1000 bytes; the async model "text" accepts text/plain.
  const big = await app.inject({ method: 'POST', url: '/models/classify/predict', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(2000) })
  t.equal(big.statusCode, 413)
  t.match(big.json().detail, /Send larger inputs as an async job: POST \/models\/text\/jobs\.$/)
  const none = await app.inject({ method: 'POST', url: '/models/classify/predict', headers: { 'content-type': 'image/png' }, payload: 'x'.repeat(2000) })
  t.match(none.json().detail, /No async model for larger inputs of this type is available\.$/)
  t.notMatch(none.json().detail, /\{name\}/)
})
