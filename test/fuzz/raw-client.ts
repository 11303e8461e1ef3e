/**
 * A client for bytes that are not (quite) HTTP: node:http refuses to send most framing attacks, so
 * these go over a node:net socket as written, and the answers are parsed here. Only what the checks
 * need is parsed (status, headers, a Content-Length or chunked body); the gateway's answers are
 * Node's, so they are well framed even when the requests are not.
 */
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>
  body: Buffer
}

export interface RawAnswer {
  /** Final responses (1xx interim ones are skipped), in order. */
  responses: RawResponse[]
  /** How the connection ended: the server's FIN, a reset, neither before the deadline, or the client's reset. */
  ended: 'fin' | 'reset' | 'open' | 'client-reset'
  /** The client ended its side (FIN): after the expected answers, or at once for a half-close. */
  finSent: boolean
  /** Bytes after the last complete response that did not form one (up to 64 shown). */
  trailingBytes: number
  trailing: string
  ms: number
}

export interface RawSendOptions {
  host: string
  port: number
  /** Written one by one, each in its own write (a request split across TCP segments). */
  segments: Buffer[]
  /**
   * After the last segment: `wait` for the answers, then end the client's side (FIN); `fin` at once
   * (half-close); `rst` reset the connection at once (a client that vanishes).
   */
  end: 'wait' | 'fin' | 'rst'
  /** Per expected response: true when it answers a HEAD (no body follows its headers). */
  heads: boolean[]
  /** The whole exchange, answers and close included, must fit in this. */
  deadlineMs: number
}

const CRLFCRLF = Buffer.from('\r\n\r\n')

/** One response at the start of `buf`, or undefined while incomplete; `closed`: no more bytes will come. */
function parseOne(buf: Buffer, head: boolean, closed: boolean): { response: RawResponse; used: number } | undefined {
  const end = buf.indexOf(CRLFCRLF)
  if (end < 0) return undefined
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  const start = end + 4
  if (head || status < 200 || status === 204 || status === 304) return { response: { status, headers, body: Buffer.alloc(0) }, used: start }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = []
    let pos = start
    for (;;) {
      const eol = buf.indexOf('\r\n', pos)
      if (eol < 0) return undefined
      const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16)
      if (Number.isNaN(size)) return undefined
      if (size === 0) {
        // Trailers (none expected), then the empty line.
        const last = buf.indexOf('\r\n', eol + 2)
        if (last < 0) return undefined
        return { response: { status, headers, body: Buffer.concat(chunks) }, used: last + 2 }
      }
      if (buf.length < eol + 2 + size + 2) return undefined
      chunks.push(buf.subarray(eol + 2, eol + 2 + size))
      pos = eol + 2 + size + 2
    }
  }
  const length = headers['content-length']
  if (length !== undefined) {
    const n = Number(length)
    if (buf.length < start + n) return undefined
    return { response: { status, headers, body: buf.subarray(start, start + n) }, used: start + n }
  }
  // Neither length nor chunks: the body runs to the close.
  return closed ? { response: { status, headers, body: buf.subarray(start) }, used: buf.length } : undefined
}

/**
 * Sends the segments and collects the answers. Resolves (never rejects) once the server has closed
 * the connection, or at the deadline with `ended: 'open'`. Once every expected answer is in, the
 * client ends its side, so a server that keeps the connection open after that shows up as `open`.
 */
export function sendRaw(o: RawSendOptions): Promise<RawAnswer> {
  const started = Date.now()
  return new Promise((resolve) => {
    const socket = connect({ host: o.host, port: o.port })
    socket.setNoDelay(true)
    let buf = Buffer.alloc(0)
    const responses: RawResponse[] = []
    let finished = false
    let sentFin = false
    const fin = () => {
      if (sentFin) return
      sentFin = true
      socket.end()
    }
    const parse = (closed: boolean) => {
      for (;;) {
        const one = parseOne(buf, o.heads[responses.length] ?? false, closed)
        if (one === undefined) return
        buf = buf.subarray(one.used)
        const interim = one.response.status >= 100 && one.response.status < 200 && one.response.status !== 101
        if (!interim) responses.push(one.response)
        if (responses.length >= o.heads.length) fin()
      }
    }
    const done = (ended: RawAnswer['ended']) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      parse(true)
      socket.destroy()
      resolve({ responses, ended, finSent: sentFin, trailingBytes: buf.length, trailing: buf.subarray(0, 64).toString('latin1'), ms: Date.now() - started })
    }
    const timer = setTimeout(() => done('open'), o.deadlineMs)
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      parse(false)
    })
    socket.on('end', () => done('fin'))
    socket.on('error', () => done('reset'))
    socket.on('close', () => done('fin'))
    socket.once('connect', async () => {
      for (const segment of o.segments) {
        if (socket.destroyed || socket.writableEnded) return
        socket.write(segment)
        // Its own turn of the event loop, so that the segment leaves on its own.
        await new Promise((r) => setImmediate(r))
      }
      if (o.end === 'fin') fin()
      if (o.end === 'rst' && !socket.destroyed) {
        socket.resetAndDestroy()
        done('client-reset')
      }
    })
  })
}
