import { connect } from 'node:net'
import t from 'tap'
import { sampleSum, scrape } from './helpers/prometheus.js'
import { startTestStack, waitForJob } from './helpers/stack.js'

const HTTP = 'http_request_duration_seconds_count'
const AWS = 'sagegate_aws_request_duration_seconds_count'

t.test('a predict call and a job move the HTTP and AWS call series, by route pattern and operation', async (t) => {
  const it = await startTestStack(t)
  const predicted = await fetch(`${it.baseUrl}/models/echo/predict`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'hello' })
  t.equal(predicted.status, 200)
  const created = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'One sentence. Another one.' })
  t.equal(created.status, 202)
  const { id } = (await created.json()) as { id: string }
  t.equal((await waitForJob(it.baseUrl, id)).status, 'completed')
  t.equal((await fetch(`${it.baseUrl}/no/such/route`)).status, 404)

  const samples = await scrape(`${it.baseUrl}/metrics`)
  t.equal(sampleSum(samples, HTTP, { route: '/models/:name/predict', method: 'POST', status_class: '2xx' }), 1)
  t.equal(sampleSum(samples, HTTP, { route: '/models/:name/jobs', method: 'POST', status_class: '2xx' }), 1)
  t.ok(sampleSum(samples, HTTP, { route: '/jobs/:id', method: 'GET', status_class: '2xx' }) >= 1, 'the status polls')
  t.equal(sampleSum(samples, HTTP, { route: 'unmatched', method: 'GET', status_class: '4xx' }), 1)
  t.notOk(samples.some((s) => s.labels.route?.includes(id)), 'no series names a job id')

  t.ok(sampleSum(samples, AWS, { service: 's3', operation: 'PutObject' }) >= 1, 'the input and the record went to S3')
  t.equal(sampleSum(samples, AWS, { service: 'sagemaker-runtime', operation: 'InvokeEndpointAsync' }), 1)
  // The echo model was not loaded: predict may have met ModelNotReady and called again.
  t.equal(sampleSum(samples, AWS, { service: 'sagemaker-runtime', operation: 'InvokeEndpoint' }), 1 + sampleSum(samples, 'sagegate_model_not_ready_retries_total'))
  t.ok(
    sampleSum(samples, 'sagegate_aws_attempts_total', { service: 's3' }) >= sampleSum(samples, AWS, { service: 's3' }),
    'every call made at least one attempt',
  )
  t.equal(sampleSum(samples, 'sagegate_aws_errors_total', { operation: 'PutObject' }), 0)
})

t.test("the runtime's /_local/metrics: CloudWatch-named series of its endpoints after an async job", async (t) => {
  const it = await startTestStack(t)
  const created = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'One sentence. Another one.' })
  const { id } = (await created.json()) as { id: string }
  t.equal((await waitForJob(it.baseUrl, id)).status, 'completed')
  await fetch(`${it.baseUrl}/models/echo/predict`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'hi' })

  const res = await fetch(`${it.stack.sagemaker.endpoint}/_local/metrics`)
  t.match(res.headers.get('content-type'), /^text\/plain/)
  const samples = await scrape(`${it.stack.sagemaker.endpoint}/_local/metrics`)
  const summarize = { endpoint_name: 'summarize-async' }
  t.equal(sampleSum(samples, 'InvocationsProcessed', summarize), 1)
  t.equal(sampleSum(samples, 'InvocationFailures', summarize), 0)
  t.equal(sampleSum(samples, 'ExpiredRequests', summarize), 0)
  t.equal(sampleSum(samples, 'ApproximateBacklogSize', summarize), 0)
  t.equal(sampleSum(samples, 'ApproximateAgeOfOldestRequest', summarize), 0)
  t.equal(sampleSum(samples, 'HasBacklogWithoutCapacity', summarize), 0)
  t.ok(samples.some((s) => s.name === 'ApproximateBacklogSizePerInstance' && s.labels.endpoint_name === 'video-frames-async'), 'every async endpoint has its series')
  t.ok(sampleSum(samples, 'Invocations', { endpoint_name: 'mme-realtime' }) >= 1)
  t.equal(sampleSum(samples, 'InvocationsInFlight'), 0)
  t.equal(sampleSum(samples, 'LoadedModelCount', { endpoint_name: 'mme-realtime' }), 1)
})

t.test('an upload the client abandons is timed under its route, with status class "none"', async (t) => {
  const it = await startTestStack(t)
  const { port } = new URL(it.baseUrl)
  const socket = connect(Number(port), '127.0.0.1')
  socket.write('POST /models/summarize/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\npartial')
  await new Promise((r) => setTimeout(r, 200))
  socket.destroy()
  const labels = { route: '/models/:name/jobs', status_class: 'none' }
  for (let i = 0; i < 50 && sampleSum(await scrape(`${it.baseUrl}/metrics`), HTTP, labels) === 0; i++) await new Promise((r) => setTimeout(r, 100))
  t.equal(sampleSum(await scrape(`${it.baseUrl}/metrics`), HTTP, labels), 1)
})
