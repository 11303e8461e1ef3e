import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

export interface HttpMetricsOptions {
  /**
   * One request ended. route: the route's pattern (`/jobs/:id`, never the URL, whose ids would make a
   * series per request), or "unmatched"; statusClass: `2xx`…`5xx`, or "none" when the client left
   * before any answer was sent.
   */
  observe(route: string, method: string, statusClass: string, seconds: number): void
}

const statusClass = (reply: FastifyReply): string => (reply.raw.headersSent ? `${Math.floor(reply.statusCode / 100)}xx` : 'none')

/**
 * Times every request. onResponse runs when the answer is written out, including refusals by an
 * earlier hook (401, 429) and the not-found handler. A client that leaves first (a closed SSE
 * stream, an abandoned upload) never gets there (Node emits no 'finish', and the error handler
 * hijacks the reply), so the response's 'close' without 'finish' times those; it is listened to
 * from onRequest, which a request refused by an earlier onRequest hook does not reach (its answer
 * is written at once, and timed by onResponse).
 */
export function registerHttpMetrics(app: FastifyInstance, options: HttpMetricsOptions): void {
  const seen = new WeakSet<FastifyRequest>()
  const observe = (request: FastifyRequest, reply: FastifyReply) => {
    if (seen.has(request)) return
    seen.add(request)
    options.observe(request.routeOptions.url ?? 'unmatched', request.method, statusClass(reply), reply.elapsedTime / 1000)
  }
  // Callback hooks: nothing here waits, so no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) observe(request, reply)
    })
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    observe(request, reply)
    done()
  })
}
