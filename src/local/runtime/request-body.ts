import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export interface SmallBody {
  /** The first `maxBytes + 1` bytes at most: enough to tell "too large" without holding it all. */
  bytes: Buffer
  /** Size of the whole body as received. */
  sizeBytes: number
  /** SHA-256 of the whole body, for SigV4 clients that sign it without sending x-amz-content-sha256. */
  sha256Hex: string
}

/**
 * Reads a request body that the operation bounds (InvokeEndpointAsync: 128,000 bytes inline). The
 * whole body is hashed as it streams by, but at most `maxBytes + 1` bytes are kept, so an oversize
 * body costs no memory and can still be authenticated before it is refused.
 */
export async function readSmallBody(req: IncomingMessage, maxBytes: number): Promise<SmallBody> {
  const hash = createHash('sha256')
  const kept: Buffer[] = []
  let keptBytes = 0
  let sizeBytes = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk)
    sizeBytes += chunk.length
    if (keptBytes <= maxBytes) {
      const take = chunk.subarray(0, maxBytes + 1 - keptBytes)
      kept.push(take)
      keptBytes += take.length
    }
  }
  return { bytes: Buffer.concat(kept), sizeBytes, sha256Hex: hash.digest('hex') }
}
