import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { PassThrough } from 'node:stream'
import { z } from 'zod'
import { json, limitedProblems, noBody, problem, RETRY_AFTER } from '../api/responses.js'
import { Job, JobEventsHeaders, JobHeaders, JobParams, JobQuery } from '../api/schemas.js'
import { errors } from '../errors.js'
import type { JobView } from '../services/job-record.js'
import type { JobRemoval } from '../services/job-removal.js'
import type { JobService } from '../services/job-service.js'
import { isTerminal, type JobWatch } from '../services/job-watch.js'
import { clientGone } from './http.js'

export interface JobStatusDeps {
  jobs: JobService
  watch: JobWatch
  removal: JobRemoval
  /** An SSE stream with nothing to say sends a comment this often (waits.heartbeatMs). */
  heartbeatMs: number
}

/** The longest wait a client may ask for (`?wait=N`, `Prefer: wait=N`). */
export const MAX_WAIT_SECONDS = 60
/** EventSource reconnects after this when a stream ends early (a drain): the `retry` field, in ms. */
const SSE_RETRY_MS = 2_000

/** RFC 7240: `Prefer: respond-async, wait=10` → 10 (clamped to MAX_WAIT_SECONDS); undefined when absent or malformed. */
export function preferredWait(prefer: string | undefined): number | undefined {
  if (prefer === undefined) return undefined
  for (const preference of prefer.split(',')) {
    const [token = ''] = preference.split(';')
    const m = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*$/i.exec(token)
    if (m !== null) return Math.min(Number(m[1]), MAX_WAIT_SECONDS)
  }
  return undefined
}

/** Views are built once per state and never changed: their JSON text is kept with them. */
const texts = new WeakMap<JobView, string>()
function jsonOf(view: JobView): string {
  let text = texts.get(view)
  if (text === undefined) {
    text = JSON.stringify(view)
    texts.set(view, text)
  }
  return text
}

/** One SSE event: the job's status as its id, so that a reconnecting client is not sent it twice. */
const statusEvent = (view: JobView): string => `event: status\nid: ${view.status}\ndata: ${JSON.stringify(view)}\n\n`

const WAIT = `The status is derived from S3: the output object means \`completed\`, the failure object \`failed\` (or
\`expired\` when the request outlived its queue TTL), no outcome after the TTL plus the invocation timeout \`expired\`,
otherwise \`in_progress\`; \`canceled\` after a DELETE while in progress. Every S3 call of one read shares
\`aws.readBudgetMs\` (retries included): an S3 that does not answer in time gives 504 \`upstream_timeout\`, an
unreachable or failing one 503, both with \`Retry-After\`. A failed or expired job carries \`error\` with a stable
\`code\` and that code's fixed summary. Polls of one job within a second share one read of S3 (so a poll may
answer \`in_progress\` up to a second after the end), and a final status is answered from memory for 30 s.

**Waiting instead of polling:** with \`?wait=N\` (or \`Prefer: wait=N\`, N ≤ 60) the answer is held while the job is
\`in_progress\` and comes as soon as it ends, or after N seconds with the current state. However many clients
wait on one job, the gateway checks S3 for it once (from every \`waits.minPollIntervalMs\`, doubling up to
\`waits.maxPollIntervalMs\`: 5 s, or 30 s with SNS notifications configured), and at once when an SNS notification for it arrives. A drain (SIGTERM) ends waits with
the current state.`

const EVENTS = `Server-Sent Events: a \`status\` event (\`id\` = the status, \`data\` = the job) now and at every change,
the last one with a final status (\`completed\`, \`failed\`, \`expired\`, \`canceled\`), after which the stream ends.
A comment line is sent when nothing else was sent for \`waits.heartbeatMs\`. A reconnecting client (EventSource
sends \`Last-Event-ID\`) is not sent the status it already has; when that was the final one the answer is 204, which
tells EventSource to stop. A drain (SIGTERM) ends the stream early; EventSource then reconnects (\`retry\`).`

export function jobStatusRoutes(deps: JobStatusDeps) {
  const { jobs, watch, removal } = deps
  return async (plain: FastifyInstance) => {
    const app = plain.withTypeProvider<ZodTypeProvider>()

    app.get(
      '/jobs/:id',
      {
        schema: {
          tags: ['jobs'],
          summary: 'The job and its status; optionally wait for it to end',
          description: WAIT,
          operationId: 'getJob',
          params: JobParams,
          querystring: JobQuery,
          headers: JobHeaders,
          response: {
            200: json(Job, 'The job', {
              'Preference-Applied': { type: 'string', description: '`wait=N` when `Prefer: wait=N` was honoured.' },
              Vary: { type: 'string', const: 'Prefer' },
            }),
            400: problem('`wait` is not an integer from 0 to 60 (`bad_request`)'),
            404: problem('No such job (`job_not_found`), or it belongs to another tenant'),
            504: problem('S3 did not answer within `aws.readBudgetMs` (`upstream_timeout`)', RETRY_AFTER),
            ...limitedProblems,
          },
        },
      },
      async (request, reply) => {
        // RFC 7240 §2: the answer depends on the Prefer header (how long it was held).
        void reply.header('vary', 'Prefer')
        const preferred = request.query.wait === undefined ? preferredWait(request.headers.prefer) : undefined
        if (preferred !== undefined) void reply.header('preference-applied', `wait=${preferred}`)
        const seconds = request.query.wait ?? preferred ?? 0
        // The hot path of polling: a state memory has, answered without S3, a signal or serializing
        // it again (a final state's text is kept with it).
        const known = jobs.peekJob(request.params.id, request.principal.tenant)
        if (known !== undefined && known.status !== 'canceled' && (seconds === 0 || isTerminal(known))) {
          // A string is sent as it is (Fastify serializes objects only): the Job, already as JSON.
          return reply.type('application/json; charset=utf-8').send(jsonOf(known) as unknown as JobView)
        }
        const gone = clientGone(request, reply)
        const job = await jobs.getJob(request.params.id, request.principal.tenant, gone)
        if (job.status === 'canceled') removal.purgeIfSettled(job.id)
        if (seconds === 0 || isTerminal(job)) return job
        const ended = await watch.wait(job, seconds * 1000, gone)
        if (ended === undefined) throw errors.jobNotFound()
        return ended
      },
    )

    app.get(
      '/jobs/:id/events',
      {
        schema: {
          tags: ['jobs'],
          summary: "Follow the job's status as Server-Sent Events",
          description: EVENTS,
          operationId: 'jobEvents',
          params: JobParams,
          headers: JobEventsHeaders,
          response: {
            200: { description: 'The event stream', content: { 'text/event-stream': { schema: z.string() } } },
            204: noBody('The client already has the final status (`Last-Event-ID`)'),
            404: problem('No such job (`job_not_found`), or it belongs to another tenant'),
            504: problem('S3 did not answer within `aws.readBudgetMs` (`upstream_timeout`)', RETRY_AFTER),
            ...limitedProblems,
          },
        },
      },
      async (request, reply) => {
        const job = await jobs.getJob(request.params.id, request.principal.tenant, clientGone(request, reply))
        const lastId = request.headers['last-event-id']?.trim()
        if (lastId === job.status && isTerminal(job)) return reply.code(204).send()
        const out = new PassThrough()
        let sentAt = Date.now()
        let lastStatus = lastId
        const send = (text: string) => {
          sentAt = Date.now()
          out.write(text)
        }
        const heartbeat = setInterval(() => {
          if (Date.now() - sentAt >= deps.heartbeatMs) send(': heartbeat\n\n')
        }, Math.max(250, Math.floor(deps.heartbeatMs / 2)))
        let unsubscribe = () => {}
        const end = () => {
          clearInterval(heartbeat)
          unsubscribe()
          out.end()
        }
        const onView = (view: JobView | undefined) => {
          const changed = view !== undefined && view.status !== lastStatus
          if (changed) {
            lastStatus = view.status
            send(statusEvent(view))
          }
          // The job ended or is gone, or the watch let go with the state already sent (a drain): the end.
          if (view === undefined || isTerminal(view) || !changed) end()
        }
        send(`retry: ${SSE_RETRY_MS}\n\n`)
        // A reconnecting client that has this status already (Last-Event-ID) is not sent it again.
        if (job.status !== lastStatus) {
          lastStatus = job.status
          send(statusEvent(job))
        }
        if (isTerminal(job)) end()
        else {
          unsubscribe = watch.subscribe(job, onView)
          reply.raw.once('close', end)
        }
        return reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache, no-transform')
          // nginx and similar proxies would otherwise buffer the events.
          .header('x-accel-buffering', 'no')
          .send(out)
      },
    )

    app.delete(
      '/jobs/:id',
      {
        schema: {
          tags: ['jobs'],
          summary: "Delete the job's data",
          description: `A job that has ended loses its input, output, failure object, pending webhook and record; afterwards it
is a 404. SageMaker cannot cancel an async invocation, so a job still in progress is canceled at best effort: its
input is removed (a queued invocation then fails), its pending webhook dropped, and it is reported \`canceled\` (202)
until the endpoint has given up on it; its data then goes at the next DELETE or status read, or with the sweep of
canceled jobs that every replica runs each minute.`,
          operationId: 'deleteJob',
          params: JobParams,
          response: {
            202: json(Job, 'The job was in progress: canceled'),
            204: noBody('Everything of the job is gone'),
            404: problem('No such job (`job_not_found`), or it belongs to another tenant'),
            504: problem('S3 did not answer within `aws.readBudgetMs` (`upstream_timeout`)', RETRY_AFTER),
            ...limitedProblems,
          },
        },
      },
      async (request, reply) => {
        const removed = await removal.remove(request.params.id, request.principal.tenant, clientGone(request, reply))
        if (removed.kind === 'canceled') {
          watch.settle(removed.view.id, removed.view)
          return reply.code(202).send(removed.view)
        }
        watch.settle(request.params.id, undefined)
        return reply.code(204).send()
      },
    )
  }
}
