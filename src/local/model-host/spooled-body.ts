// Request bodies are streamed to a temp file before the handler runs: inputs reach 1 GiB, ffmpeg
// needs a seekable file (an mp4's `moov` box may come last), and memory must not grow with the body.
import { randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { readdir, readFile, rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { type Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { HandlerError, type InvocationBody } from '../../../handlers/handler.js'

export interface SpooledBody extends InvocationBody {
  /** Removes the temp file; safe to call more than once. */
  dispose(): Promise<void>
}

function tooLarge(maxBytes: number, sizeBytes?: number | string): HandlerError {
  const size = sizeBytes === undefined ? '' : ` of ${sizeBytes} bytes`
  return new HandlerError(413, `request body${size} is over the limit of ${maxBytes} bytes`)
}

/** An InvocationBody over a file that already holds the whole body. */
export function createFileBody(path: string, sizeBytes: number, contentType: string): SpooledBody {
  const readAll = async (maxBytes: number | undefined): Promise<Buffer> => {
    if (maxBytes !== undefined && sizeBytes > maxBytes) throw tooLarge(maxBytes, sizeBytes)
    return readFile(path)
  }
  return {
    path,
    sizeBytes,
    contentType,
    buffer: readAll,
    async text(maxBytes?: number): Promise<string> {
      const bytes = await readAll(maxBytes)
      try {
        // fatal: a body that is not UTF-8 is the caller's mistake (400), not silently mangled text.
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
      } catch (err) {
        throw new HandlerError(400, 'the request body is not valid UTF-8 text', { cause: err })
      }
    },
    stream(): Readable {
      return createReadStream(path)
    },
    async dispose(): Promise<void> {
      await rm(path, { force: true })
    },
  }
}

const SPOOL_PREFIX = 'invocation-'
const SPOOL_SUFFIX = '.body'

/** Removes the bodies a host that died (SIGKILL) left in `dir`; only for a folder no running host spools into. */
export async function removeSpooledBodies(dir: string): Promise<number> {
  const stale = (await readdir(dir)).filter((f) => f.startsWith(SPOOL_PREFIX) && f.endsWith(SPOOL_SUFFIX))
  for (const f of stale) await rm(join(dir, f), { force: true })
  return stale.length
}

export interface SpoolOptions {
  dir: string
  maxBytes: number
  contentType: string
  signal: AbortSignal
}

/**
 * Streams the request into `<dir>/invocation-<uuid>.body` with a byte limit. On any failure (over
 * the limit, client gone, abort) the partial file is removed before the error propagates.
 * The socket stays open (Node detaches it from the destroyed request), so the caller can still
 * answer 413 or 504, with `Connection: close` since the rest of the body was not read.
 */
export async function spoolRequestBody(request: IncomingMessage, options: SpoolOptions): Promise<SpooledBody> {
  const { dir, maxBytes, contentType, signal } = options
  const declared = request.headers['content-length']
  // Refuse before reading a byte when the declared length is already too large (RFC 9110 §15.5.14).
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes, declared)
  const path = join(dir, `${SPOOL_PREFIX}${randomUUID()}${SPOOL_SUFFIX}`)
  let sizeBytes = 0
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sizeBytes += chunk.length
      if (sizeBytes > maxBytes) callback(tooLarge(maxBytes))
      else callback(null, chunk)
    },
  })
  try {
    await pipeline(request, limiter, createWriteStream(path, { flags: 'wx' }), { signal })
  } catch (err) {
    await rm(path, { force: true })
    throw err
  }
  return createFileBody(path, sizeBytes, contentType)
}
