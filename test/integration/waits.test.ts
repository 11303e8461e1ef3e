import t from 'tap'
import { heldStack, readEvents, settledWithin } from '../helpers/held-stack.js'
import { bearer, KEYS, withKeys } from '../helpers/auth.js'


t.test('?wait=N returns within a second of completion; every waiter of the job gets it', async (t) => {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('hello')
  const waits = [1, 2, 3].map(() => fetch(`${it.baseUrl}/jobs/${id}?wait=30`).then(async (r) => ({ status: r.status, at: Date.now(), job: (await r.json()) as { status: string } })))
  t.notOk(await settledWithin(Promise.race(waits), 500), 'the waits are held while the job runs')
  const releasedAt = Date.now()
  container.release()
  for (const w of await Promise.all(waits)) {
    t.equal(w.status, 200)
    t.equal(w.job.status, 'completed')
    t.ok(w.at - releasedAt < 1000, `answered ${w.at - releasedAt} ms after the model answered`)
  }
})

t.test('a wait that ends first answers the current state; Prefer: wait=N is honoured and said so', async (t) => {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('slow')
  const started = Date.now()
  const res = await fetch(`${it.baseUrl}/jobs/${id}`, { headers: { prefer: 'respond-async, wait=1' } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('preference-applied'), 'wait=1')
  t.equal(((await res.json()) as { status: string }).status, 'in_progress')
  t.ok(Date.now() - started >= 900, 'held for about the wait')
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}?wait=61`)).status, 400, 'more than 60 s is refused')
  container.release()
})

t.test('a drain ends waits with the current state, not an error', async (t) => {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('drain')
  const wait = fetch(`${it.baseUrl}/jobs/${id}?wait=60`)
  t.notOk(await settledWithin(wait, 300))
  it.app.lifecycle.startDrain()
  const res = await wait
  t.equal(res.status, 200)
  t.equal(((await res.json()) as { status: string }).status, 'in_progress')
  container.release()
})


t.test('SSE: the status now, then the final one, then the end; a reconnect after it is a 204', async (t) => {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('events')
  const res = await fetch(`${it.baseUrl}/jobs/${id}/events`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  const read = readEvents(res)
  // Longer than the heartbeat: a comment line keeps proxies from closing the stream.
  await new Promise((r) => setTimeout(r, 1600))
  container.release()
  const { text, events } = await read
  t.match(text, /^retry: \d+/)
  t.match(text, /\n: heartbeat\n/)
  t.same(events.map((e) => [e.event, e.id]), [['status', 'in_progress'], ['status', 'completed']])
  t.equal((JSON.parse(events[1]!.data) as { status: string }).status, 'completed')
  const again = await fetch(`${it.baseUrl}/jobs/${id}/events`, { headers: { 'last-event-id': 'completed' } })
  t.equal(again.status, 204, 'EventSource stops reconnecting')
})

t.test('SSE: a client that reconnects with the status it has is not sent it again', async (t) => {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('resume')
  const res = await fetch(`${it.baseUrl}/jobs/${id}/events`, { headers: { 'last-event-id': 'in_progress' } })
  const read = readEvents(res)
  await new Promise((r) => setTimeout(r, 200))
  container.release()
  t.same((await read).events.map((e) => e.id), ['completed'])
})

t.test('DELETE of a finished job removes every object of it; then 404', async (t) => {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('delete me')
  container.release()
  t.equal(((await (await fetch(`${it.baseUrl}/jobs/${id}?wait=30`)).json()) as { status: string }).status, 'completed')
  t.ok((await it.keys()).some((k) => k.includes(id)))
  const res = await fetch(`${it.baseUrl}/jobs/${id}`, { method: 'DELETE' })
  t.equal(res.status, 204)
  t.same((await it.keys()).filter((k) => k.includes(id)), [], 'no object of the job is left')
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}`)).status, 404)
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}/result`)).status, 404)
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}`, { method: 'DELETE' })).status, 404)
})

t.test('DELETE of a job in progress cancels it; its data goes once the endpoint is done with it', async (t) => {
  const { it, container, submit } = await heldStack(t)
  const id = await submit('cancel me')
  const waiting = fetch(`${it.baseUrl}/jobs/${id}?wait=30`)
  const res = await fetch(`${it.baseUrl}/jobs/${id}`, { method: 'DELETE' })
  t.equal(res.status, 202)
  const canceled = (await res.json()) as { status: string; canceledAt?: string }
  t.equal(canceled.status, 'canceled')
  t.ok(canceled.canceledAt)
  t.equal(((await (await waiting).json()) as { status: string }).status, 'canceled', 'a waiting client learns it at once')
  t.notOk((await it.keys()).some((k) => k.endsWith(`${id}/input`)), 'the input is gone')
  t.equal(((await (await fetch(`${it.baseUrl}/jobs/${id}`)).json()) as { status: string }).status, 'canceled')
  t.ok((await it.keys()).includes(`sagegate/canceled/${id}`), 'a marker names the canceled job')
  const result = await fetch(`${it.baseUrl}/jobs/${id}/result`)
  t.equal(result.status, 409, 'a canceled job has no result')
  t.match(await result.json(), { code: 'job_not_completed', jobStatus: 'canceled' })
  await it.app.sweepCanceledJobs()
  t.ok((await it.keys()).some((k) => k.endsWith(`${id}/job.json`)), 'kept while the endpoint still holds the job')
  container.release()
  // The endpoint writes its outcome; the sweep (every minute on each replica) removes everything,
  // with nobody asking again.
  for (let i = 0; i < 100 && !(await it.keys()).some((k) => k.includes(`${id}.out`) || k.includes(`${id}-error.out`)); i++) await new Promise((r) => setTimeout(r, 100))
  await it.app.sweepCanceledJobs()
  t.same((await it.keys()).filter((k) => k.includes(id)), [])
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}`)).status, 404)
  t.equal((await fetch(`${it.baseUrl}/jobs/${id}`, { method: 'DELETE' })).status, 404)
  const metrics = await (await fetch(`${it.baseUrl}/metrics`)).text()
  t.match(metrics, /sagegate_jobs_finished_total\{model="held",outcome="canceled"\} 1/)
  t.notMatch(metrics, /sagegate_jobs_finished_total\{model="held",outcome="completed"\}/, 'a cancel is not counted as a completion')
})

t.test('waits, events and DELETE of another tenant\'s job are 404s, and delete nothing', async (t) => {
  const { it, container, submit } = await heldStack(t, { configure: withKeys() })
  const id = await submit('mine', bearer(KEYS.acmeWeb))
  const other = bearer(KEYS.globex)
  for (const [method, path] of [['GET', `/jobs/${id}?wait=5`], ['GET', `/jobs/${id}/events`], ['DELETE', `/jobs/${id}`]] as const) {
    const res = await fetch(`${it.baseUrl}${path}`, { method, headers: other })
    t.equal(res.status, 404, `${method} ${path}`)
    t.equal(((await res.json()) as { code: string }).code, 'job_not_found')
  }
  t.ok((await it.keys()).some((k) => k.endsWith(`${id}/input`)), 'the input is still there')
  container.release()
  t.equal(((await (await fetch(`${it.baseUrl}/jobs/${id}?wait=30`, { headers: bearer(KEYS.acmeBatch) })).json()) as { status: string }).status, 'completed')
})

t.test('SNS: a locally signed notification ends a wait at once; a forged one is refused', async (t) => {
  const { it, container, submit } = await heldStack(t, {
    sns: true,
    // Polling alone would find the end only after 60 s: only the notification can end the wait sooner.
    configure: (c) => ({ ...c, waits: { ...c.waits, minPollIntervalMs: 60_000, maxPollIntervalMs: 60_000 } }),
  })
  const id = await submit('notify me')
  const wait = fetch(`${it.baseUrl}/jobs/${id}?wait=50`)
  t.notOk(await settledWithin(wait, 300))
  const releasedAt = Date.now()
  container.release()
  const res = await wait
  t.equal(((await res.json()) as { status: string }).status, 'completed')
  t.ok(Date.now() - releasedAt < 10_000, `ended ${Date.now() - releasedAt} ms after the model answered, long before the next poll`)

  const forged = {
    Type: 'Notification',
    MessageId: '0b1f6b2e-0000-4000-8000-000000000000',
    TopicArn: it.stack.sns.topicArns[0],
    Message: JSON.stringify({ inferenceId: id, invocationStatus: 'Completed' }),
    Timestamp: new Date().toISOString(),
    SignatureVersion: '2',
    Signature: Buffer.alloc(256, 1).toString('base64'),
    SigningCertURL: it.stack.sns.certificateUrl,
  }
  const refused = await fetch(`${it.baseUrl}/notifications/sns`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: JSON.stringify(forged) })
  t.equal(refused.status, 403)
  t.equal(((await refused.json()) as { code: string }).code, 'sns_signature_invalid')
  const elsewhere = await fetch(`${it.baseUrl}/notifications/sns`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8' },
    body: JSON.stringify({ ...forged, SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example/cert.pem' }),
  })
  t.equal(elsewhere.status, 403, 'a certificate URL off SNS is refused before anything is fetched')
})
