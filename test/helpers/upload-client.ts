import { request, type ClientRequest, type IncomingHttpHeaders } from 'node:http'

export interface Answer {
  /** 0 when the connection closed without an answer. */
  status: number
  headers: IncomingHttpHeaders
  body: any
  /** The connection was closed (reset or FIN) before or after the answer. */
  closed: boolean
}

export interface OpenUpload {
  req: ClientRequest
  /** Writes `bytes` more bytes in 1 MiB chunks, waiting for the socket to drain (backpressure). */
  write(bytes: number): Promise<void>
  end(): void
  destroy(): void
  /** The answer once it is complete, or a status of 0 if the connection closed without one. */
  answer: Promise<Answer>
}

const MiB = 1024 * 1024

/** A POST over a real socket whose body the test sends by hand: to stall, dribble or vanish at will. */
export function openUpload(url: string, headers: Record<string, string>): OpenUpload {
  const req = request(url, { method: 'POST', headers })
  const chunk = Buffer.alloc(MiB, 'a')
  let settled = false
  const answer = new Promise<Answer>((resolve) => {
    const done = (a: Answer) => {
      if (settled) return
      settled = true
      resolve(a)
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        let body: unknown = text
        try {
          body = JSON.parse(text || '{}')
        } catch {
          // not JSON: keep the text
        }
        done({ status: res.statusCode ?? 0, headers: res.headers, body, closed: res.headers.connection === 'close' })
      })
      res.on('error', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: undefined, closed: true }))
    })
    // The gateway may answer and close before the whole body is sent: that is often the point.
    req.on('error', () => done({ status: 0, headers: {}, body: undefined, closed: true }))
    req.on('close', () => setImmediate(() => done({ status: 0, headers: {}, body: undefined, closed: true })))
  })
  return {
    req,
    async write(bytes) {
      let left = bytes
      while (left > 0 && !req.destroyed) {
        const n = Math.min(left, MiB)
        left -= n
        if (!req.write(chunk.subarray(0, n))) {
          await new Promise<void>((resolve) => {
            const go = () => (req.off('drain', go), req.off('close', go), resolve())
            req.once('drain', go)
            req.once('close', go)
          })
        }
      }
    },
    end: () => void req.end(),
    destroy: () => void req.destroy(),
    answer,
  }
}

/** Polls `check` every 50 ms until it is true or `timeoutMs` passes (then it throws). */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true after ${timeoutMs} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
