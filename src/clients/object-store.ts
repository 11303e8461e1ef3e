import type { Readable } from 'node:stream'
import type { S3Location } from '../lib/s3-uri.js'

/** What the gateway needs from object storage. Implemented for S3 by S3ObjectStore. */
export interface ObjectInfo {
  sizeBytes: number
  contentType: string | undefined
  etag: string | undefined
  lastModified: Date | undefined
  /** User metadata (`x-amz-meta-*`, names lowercased); set by head(). */
  metadata?: Record<string, string>
}

export interface ListedObject {
  key: string
  etag: string | undefined
}

export interface ObjectBody extends ObjectInfo {
  body: Readable
  /** Set for ranged reads: `bytes a-b/size`. */
  contentRange: string | undefined
}

export interface StreamUploadOptions {
  contentType: string
  metadata?: Record<string, string>
  /** The body's length when the client said (Content-Length): a small body holds only its own size of the upload budget. */
  expectedBytes?: number
}

/**
 * Every call takes an optional AbortSignal: a deadline (`lib/deadline.ts`), whose expiry the store
 * answers with a 504 `upstream_timeout`, or the client going away, which it passes on as an AbortError.
 */
export interface ObjectStore {
  /**
   * Streams `body` into `loc` as a multipart upload. If `body` fails (a limit crossed, the client
   * gone), the upload is aborted and nothing is left behind, then the body's error is rethrown. If S3
   * fails (a part stalled past its deadline, or failed on every attempt), the body is stopped and the
   * S3 error is thrown; the multipart upload is aborted in the background when S3 cannot take it now.
   */
  upload(loc: S3Location, body: Readable, options: StreamUploadOptions): Promise<void>
  putSmall(loc: S3Location, body: string | Buffer, contentType: string, signal?: AbortSignal): Promise<void>
  /**
   * A conditional write (S3 conditional writes): only if no object exists (`ifNoneMatch: '*'`) or
   * only over the version with that ETag (`ifMatch`). Resolves with the new ETag, or undefined when
   * the condition did not hold (412, or 409 for a concurrent conditional write).
   */
  putIf(loc: S3Location, body: string | Buffer, contentType: string, condition: { ifNoneMatch: '*' } | { ifMatch: string }, signal?: AbortSignal): Promise<string | undefined>
  head(loc: S3Location, signal?: AbortSignal): Promise<ObjectInfo | undefined>
  /** Reads at most `maxBytes` of a small object as text; undefined when it does not exist. */
  readText(loc: S3Location, maxBytes: number, signal?: AbortSignal): Promise<string | undefined>
  /** readText with the object's ETag (for a conditional write over it). */
  readSmall(loc: S3Location, maxBytes: number, signal?: AbortSignal): Promise<{ text: string; etag: string | undefined } | undefined>
  /**
   * Opens an object for streaming. The signal stays attached to the body (a deadline must be cleared
   * once the body flows); a body that stops arriving for the stall timeout while it is read fails
   * with a 504 `upstream_timeout`.
   */
  get(loc: S3Location, options?: { range?: { start: number; end: number }; signal?: AbortSignal }): Promise<ObjectBody | undefined>
  delete(loc: S3Location, signal?: AbortSignal): Promise<void>
  /** Removes `loc` now if S3 lets it, else keeps retrying in the background. Never rejects. */
  discard(loc: S3Location): Promise<void>
  /** Objects under `prefix`, in key order, at most `maxKeys`. */
  list(bucket: string, prefix: string, maxKeys: number, signal?: AbortSignal): Promise<ListedObject[]>
  /** Throws when the store cannot be reached. */
  ping(bucket: string, signal?: AbortSignal): Promise<void>
  /** Retries pending cleanups (aborts, deletes) for up to `ms`; resolves with how many remain. */
  flushCleanup(ms: number): Promise<number>
}
