import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { errors } from '../errors.js'
import type { StallWatch } from '../lib/stall-watch.js'

/**
 * Clients that stall: a request body with no byte for the idle timeout, and a streamed response the
 * client stops reading for as long. Node's own requestTimeout cannot do this for uploads that rightly
 * last minutes (it is off, see buildApp), and a socket timeout would also fire while the gateway
 * itself holds the client back (backpressure from S3): the stall watch counts only the time the
 * gateway is waiting on the client.
 *
 * Body: the request's idle signal fires with a 408 `request_timeout`; the route stops reading, cleans
 * up and answers 408, and the connection is then closed. Response: the connection is closed (no
 * answer can reach a client that reads nothing).
 */
export interface ClientWatchOptions {
  idleTimeoutMs: number
  stallWatch: StallWatch
  onTimeout?: (phase: 'body' | 'response') => void
}

const idle = new WeakMap<FastifyRequest, AbortSignal>()

/** Fires with a 408 AppError when the request's body stops arriving; undefined for a request without a body. */
export const bodyIdleSignal = (request: FastifyRequest): AbortSignal | undefined => idle.get(request)

const hasBody = (request: FastifyRequest): boolean =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0

export function registerClientWatch(app: FastifyInstance, o: ClientWatchOptions): void {
  // Callback hooks: nothing here waits, so no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    if (!hasBody(request)) return done()
    const raw = request.raw
    const socket = raw.socket
    const controller = new AbortController()
    idle.set(request, controller.signal)
    const stop = o.stallWatch.watch({
      progress: () => socket.bytesRead,
      // Waiting on the client only while the body is incomplete and the gateway has room for more.
      waiting: () => !raw.complete && raw.readableLength < raw.readableHighWaterMark,
      timeoutMs: o.idleTimeoutMs,
      onStall: () => {
        o.onTimeout?.('body')
        request.log.warn({ idleTimeoutMs: o.idleTimeoutMs }, 'request body idle: ending the request')
        controller.abort(errors.requestTimeout(o.idleTimeoutMs))
        closeAfterAnswer(reply, socket)
      },
    })
    raw.once('end', stop)
    reply.raw.once('close', stop)
    done()
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    if (!(payload instanceof Readable)) return done(null, payload)
    let drains = 0
    const res = reply.raw
    const onDrain = () => drains++
    res.on('drain', onDrain)
    const stop = o.stallWatch.watch({
      progress: () => drains,
      waiting: () => res.writableNeedDrain,
      timeoutMs: o.idleTimeoutMs,
      onStall: () => {
        o.onTimeout?.('response')
        request.log.warn({ idleTimeoutMs: o.idleTimeoutMs }, 'client reads nothing of the response: closing the connection')
        res.destroy()
      },
    })
    res.once('close', () => {
      stop()
      res.off('drain', onDrain)
    })
    done(null, payload)
  })
}

/** How long a route may take to answer 408 (it first aborts the upload) before the socket just goes. */
const ANSWER_GRACE_MS = 30_000

/** Closes the connection once the answer is out, or after ANSWER_GRACE_MS if none comes. */
function closeAfterAnswer(reply: FastifyReply, socket: Socket): void {
  const res = reply.raw
  const close = () => void socket.destroy()
  if (res.writableFinished) return close()
  const timer = setTimeout(close, ANSWER_GRACE_MS)
  timer.unref()
  res.once('finish', () => {
    clearTimeout(timer)
    close()
  })
  res.once('close', () => clearTimeout(timer))
}
