import type { Readable } from 'node:stream'
import type { S3Location } from '../lib/s3-uri.js'

/** What the gateway needs from object storage. Implemented for S3 by S3ObjectStore. */
export interface ObjectInfo {
  sizeBytes: number
  contentType: string | undefined
  etag: string | undefined
  lastModified: Date | undefined
}

export interface ObjectBody extends ObjectInfo {
  body: Readable
  /** Set for ranged reads: `bytes a-b/size`. */
  contentRange: string | undefined
}

export interface StreamUploadOptions {
  contentType: string
  metadata?: Record<string, string>
}

export interface ObjectStore {
  /**
   * Streams `body` into `loc` as a multipart upload. If `body` fails (a limit crossed, the client
   * gone), the upload is aborted and nothing is left behind, then the body's error is rethrown.
   */
  upload(loc: S3Location, body: Readable, options: StreamUploadOptions): Promise<void>
  putSmall(loc: S3Location, body: string | Buffer, contentType: string, signal?: AbortSignal): Promise<void>
  head(loc: S3Location, signal?: AbortSignal): Promise<ObjectInfo | undefined>
  /** Reads at most `maxBytes` of a small object as text; undefined when it does not exist. */
  readText(loc: S3Location, maxBytes: number, signal?: AbortSignal): Promise<string | undefined>
  get(loc: S3Location, options?: { range?: { start: number; end: number }; signal?: AbortSignal }): Promise<ObjectBody | undefined>
  delete(loc: S3Location): Promise<void>
  /** Keys under `prefix`, in order, at most `maxKeys`. */
  listKeys(bucket: string, prefix: string, maxKeys: number, signal?: AbortSignal): Promise<string[]>
  /** Throws when the store cannot be reached. */
  ping(bucket: string, signal?: AbortSignal): Promise<void>
}
