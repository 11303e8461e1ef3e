/**
 * A TCP proxy for fault-injection tests. Put it between the gateway and a dependency (the local S3
 * server, the local SageMaker runtime) or between a client and the gateway, then freeze, cut, throttle
 * or refuse the traffic from the test. It works below HTTP, on real sockets, so the code under test
 * meets what a frozen, crashed, slow or absent peer really does to a connection.
 *
 * Hand-written rather than a library: toxiproxy is a separate Go daemon, and the tests need to stall at
 * an exact upstream byte count (say, in the middle of an upload part), which needs control per chunk.
 * Bytes are never read into unbounded memory: a direction that cannot forward pauses its source, so
 * held data waits in the kernel and stream buffers (at most one chunk per direction is held here).
 */
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

export interface FaultProxy {
  /** `http://127.0.0.1:PORT`, to use in place of the target's URL. */
  url: string
  port: number
  /** Forward everything normally (the default); clears stall, stallAfter and slow, delivering what was held. */
  pass(): void
  /** Like a frozen process (SIGSTOP): connections are still accepted, but no byte (nor FIN) moves either way until pass(). */
  stall(): void
  /** Stall once `bytes` more bytes have gone upstream (client → target) over all connections. */
  stallAfter(bytes: number): void
  /** Reset every open connection now (TCP RST), on both sides. New connections are still accepted. */
  reset(): void
  /** Throttle each direction of each connection to about `bytesPerSecond` (pass() clears it). */
  slow(bytesPerSecond: number): void
  /** While on, reset each new connection as soon as it is accepted, like a process that is down. */
  refuse(on: boolean): void
  stats(): FaultProxyStats
  /** Resolves once at least `bytes` bytes have gone upstream since the proxy started; rejects on close(). */
  waitForBytesUp(bytes: number): Promise<void>
  /** Destroys every connection (stalled ones too) and closes the listener. */
  close(): Promise<void>
}

export interface FaultProxyStats {
  /** Connections with at least one side still open. */
  open: number
  /** Connections accepted and forwarded (refused ones are not counted here). */
  accepted: number
  refused: number
  /** Bytes written to the target, and to the client. */
  bytesUp: number
  bytesDown: number
}

/** One direction of one connection. */
interface Flow {
  src: Socket
  dst: Socket
  upstream: boolean
  /** Read but not yet written: a chunk split at a stallAfter threshold or by the throttle. */
  held: Buffer[]
  ended: boolean
  throttle: NodeJS.Timeout | undefined
}

interface Pair {
  client: Socket
  target: Socket
  flows: [Flow, Flow]
}

/** The throttle sends a slice every 1/TICKS_PER_SECOND s, so `slow` is smooth rather than bursty. */
const TICKS_PER_SECOND = 20

export async function startFaultProxy(target: { host: string; port: number } | string): Promise<FaultProxy> {
  const { host, port: targetPort } = typeof target === 'string' ? parseTarget(target) : target
  const pairs = new Set<Pair>()
  const waiters = new Set<{ bytes: number; resolve: () => void; reject: (err: Error) => void }>()
  const counts = { accepted: 0, refused: 0, bytesUp: 0, bytesDown: 0 }
  let stalled = false
  let budget: number | undefined // upstream bytes left before stallAfter stalls
  let rate: number | undefined // bytes per second per direction
  let refusing = false

  const pumpAll = () => {
    for (const pair of pairs) for (const flow of pair.flows) pump(flow)
  }

  const stopThrottles = (pair: Pair) => {
    for (const f of pair.flows) {
      clearTimeout(f.throttle)
      f.throttle = undefined
    }
  }

  const stall = () => {
    stalled = true
    budget = undefined
    pumpAll()
  }

  function sent(flow: Flow, n: number): void {
    if (!flow.upstream) {
      counts.bytesDown += n
      return
    }
    counts.bytesUp += n
    for (const w of waiters) {
      if (counts.bytesUp < w.bytes) continue
      waiters.delete(w)
      w.resolve()
    }
    if (budget === undefined) return
    budget -= n
    if (budget <= 0) stall()
  }

  /** Writes what the current mode allows, then pauses or resumes the source to match. */
  function pump(flow: Flow): void {
    while (flow.held.length > 0 && !stalled && !flow.dst.writableNeedDrain && !flow.throttle && !flow.dst.destroyed) {
      const chunk = flow.held.shift()!
      let n = chunk.length
      if (rate !== undefined) n = Math.min(n, Math.max(1, Math.ceil(rate / TICKS_PER_SECOND)))
      if (flow.upstream && budget !== undefined) n = Math.min(n, budget)
      if (n < chunk.length) flow.held.unshift(chunk.subarray(n))
      if (!flow.dst.write(chunk.subarray(0, n))) flow.dst.once('drain', () => pump(flow))
      if (rate !== undefined) {
        flow.throttle = setTimeout(() => {
          flow.throttle = undefined
          pump(flow)
        }, (n * 1000) / rate)
      }
      sent(flow, n) // may stall(), which ends this loop
    }
    // The FIN is forwarded only after every held byte, and not while stalled.
    if (flow.ended && flow.held.length === 0 && !stalled && !flow.dst.writableEnded) flow.dst.end()
    if (stalled || flow.held.length > 0 || flow.dst.writableNeedDrain || flow.throttle) flow.src.pause()
    else flow.src.resume()
  }

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    client.on('error', () => {}) // a refused client may still report its reset
    if (refusing) {
      counts.refused++
      resetSocket(client)
      return
    }
    counts.accepted++
    // allowHalfOpen on both sides: an HTTP client may send FIN after its request and still read the answer.
    const upstream = connect({ host, port: targetPort, allowHalfOpen: true })
    const flow = (src: Socket, dst: Socket, up: boolean): Flow => ({
      src, dst, upstream: up, held: [], ended: false, throttle: undefined,
    })
    const pair: Pair = { client, target: upstream, flows: [flow(client, upstream, true), flow(upstream, client, false)] }
    pairs.add(pair)
    for (const [side, other] of [[client, upstream], [upstream, client]] as const) {
      // A failed side (refused, reset, timed out) takes its peer down with a reset too. A side that
      // closed cleanly has sent and received its FIN, so `pump` ends the peer after the held bytes.
      side.on('error', () => resetSocket(other))
      side.on('close', () => {
        if (!other.destroyed) return
        pairs.delete(pair)
        stopThrottles(pair)
      })
    }
    for (const f of pair.flows) {
      f.src.on('data', (chunk: Buffer) => {
        f.held.push(chunk)
        pump(f)
      })
      f.src.on('end', () => {
        f.ended = true
        pump(f)
      })
      pump(f)
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pass() {
      stalled = false
      budget = undefined
      rate = undefined
      pairs.forEach(stopThrottles)
      pumpAll()
    },
    stall,
    stallAfter(bytes) {
      if (!(bytes >= 0)) throw new RangeError(`stallAfter needs a byte count >= 0, got ${bytes}`)
      if (bytes === 0) return stall()
      budget = bytes
    },
    reset() {
      for (const pair of pairs) {
        resetSocket(pair.client)
        resetSocket(pair.target)
      }
    },
    slow(bytesPerSecond) {
      if (!(bytesPerSecond > 0)) throw new RangeError(`slow needs bytesPerSecond > 0, got ${bytesPerSecond}`)
      rate = bytesPerSecond
    },
    refuse(on) {
      refusing = on
    },
    stats: () => ({ open: pairs.size, ...counts }),
    waitForBytesUp(bytes) {
      if (counts.bytesUp >= bytes) return Promise.resolve()
      return new Promise((resolve, reject) => waiters.add({ bytes, resolve, reject }))
    },
    async close() {
      for (const w of waiters) w.reject(new Error('fault proxy closed'))
      waiters.clear()
      for (const pair of pairs) {
        stopThrottles(pair)
        pair.client.destroy()
        pair.target.destroy()
      }
      pairs.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * RST rather than FIN, so the peer sees ECONNRESET. A real refusal (ECONNREFUSED) would need the port
 * released while refusing, and another test could take it meanwhile.
 */
function resetSocket(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy()
}

function parseTarget(url: string): { host: string; port: number } {
  const u = new URL(url)
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80))
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port }
}
