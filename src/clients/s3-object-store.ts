import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { pipeline, type Readable } from 'node:stream'
import { errors } from '../errors.js'
import type { CleanupQueue } from '../lib/cleanup-queue.js'
import type { S3Location } from '../lib/s3-uri.js'
import type { StallWatch } from '../lib/stall-watch.js'
import { ByteCounter } from '../lib/streams.js'
import type { ListedObject, ObjectBody, ObjectInfo, ObjectStore } from './object-store.js'
import { isMissing, translateS3Error } from './aws-errors.js'
import { streamToS3 } from './s3-upload.js'
import type { UploadBudget } from '../lib/upload-budget.js'

export interface S3ObjectStoreOptions {
  /** Metadata calls and reads: each attempt bounded by its time to the response headers. */
  client: S3Client
  /** Uploads, on a socket pool of their own so they cannot starve status polls and result reads. */
  uploadClient: S3Client
  partSizeBytes: number
  queueSize: number
  /** A streamed object body that stops arriving for this long (while it is being read) fails. */
  stallTimeoutMs: number
  stallWatch: StallWatch
  cleanup: CleanupQueue
  /** The part buffers all streamed uploads together may hold (upload.maxBufferedBytes). */
  budget?: UploadBudget
}

export function createS3ObjectStore(options: S3ObjectStoreOptions): ObjectStore {
  const { client, cleanup } = options

  /**
   * The body, guarded: no byte from S3 for stallTimeoutMs while the reader is ready for more (its
   * buffer is not full) fails it with a 504, instead of leaving the reader waiting for ever.
   */
  function guard(source: Readable): Readable {
    const counter = new ByteCounter()
    pipeline(source, counter, () => undefined)
    const stop = options.stallWatch.watch({
      progress: () => counter.bytes,
      waiting: () => counter.readableLength < counter.readableHighWaterMark && !counter.writableEnded,
      timeoutMs: options.stallTimeoutMs,
      onStall: () => counter.destroy(errors.upstreamTimeout('Storage', 5, new Error(`no byte from S3 for ${options.stallTimeoutMs} ms`))),
    })
    counter.once('close', stop)
    counter.once('end', stop)
    return counter
  }

  /** A GetObject, its body as the SDK gives it; undefined when the object does not exist. */
  async function open(loc: S3Location, range: { start: number; end: number } | undefined, signal: AbortSignal | undefined): Promise<ObjectBody | undefined> {
    try {
      const out = await client.send(
        new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
        { abortSignal: signal },
      )
      return {
        body: out.Body as Readable,
        sizeBytes: out.ContentLength ?? 0,
        contentType: out.ContentType,
        etag: out.ETag,
        lastModified: out.LastModified,
        contentRange: out.ContentRange,
      }
    } catch (err) {
      if (isMissing(err)) return undefined
      if ((err as { name?: string }).name === 'InvalidRange') throw err
      throw translateS3Error(err, signal)
    }
  }

  const store: ObjectStore = {
    upload: (loc, body, opts) =>
      streamToS3(
        {
          client: options.uploadClient,
          partSizeBytes: options.partSizeBytes,
          queueSize: options.queueSize,
          cleanup,
          discard: (l) => store.discard(l),
          ...(options.budget !== undefined ? { budget: options.budget } : {}),
        },
        loc,
        body,
        opts,
      ),

    async putSmall(loc, body, contentType, signal) {
      try {
        await client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentType: contentType }), { abortSignal: signal })
      } catch (err) {
        throw translateS3Error(err, signal)
      }
    },

    async putIf(loc, body, contentType, condition, signal) {
      try {
        const out = await client.send(
          new PutObjectCommand({
            Bucket: loc.bucket,
            Key: loc.key,
            Body: body,
            ContentType: contentType,
            ...('ifNoneMatch' in condition ? { IfNoneMatch: condition.ifNoneMatch } : { IfMatch: condition.ifMatch }),
          }),
          { abortSignal: signal },
        )
        return out.ETag ?? ''
      } catch (err) {
        // 412 PreconditionFailed; 409 ConditionalRequestConflict: another conditional write won the race.
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
        if (status === 412 || status === 409) return undefined
        throw translateS3Error(err, signal)
      }
    },

    async head(loc, signal): Promise<ObjectInfo | undefined> {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal })
        return { sizeBytes: out.ContentLength ?? 0, contentType: out.ContentType, etag: out.ETag, lastModified: out.LastModified, metadata: out.Metadata ?? {} }
      } catch (err) {
        if (isMissing(err)) return undefined
        throw translateS3Error(err, signal)
      }
    },

    async readText(loc, maxBytes, signal) {
      return (await store.readSmall(loc, maxBytes, signal))?.text
    },

    async readSmall(loc, maxBytes, signal) {
      const got = await open(loc, { start: 0, end: maxBytes - 1 }, signal).catch((err: unknown) => {
        // An empty object cannot satisfy a range: read it as empty text.
        if ((err as { name?: string }).name === 'InvalidRange') return 'empty' as const
        throw err
      })
      if (got === 'empty') return { text: '', etag: undefined }
      if (got === undefined) return undefined
      // A small read: the caller's deadline, still attached to the request, bounds it whole.
      const chunks: Buffer[] = []
      try {
        for await (const chunk of got.body) chunks.push(chunk as Buffer)
      } catch (err) {
        throw translateS3Error(err, signal)
      }
      return { text: Buffer.concat(chunks).toString('utf8'), etag: got.etag }
    },

    async get(loc, opts = {}): Promise<ObjectBody | undefined> {
      const got = await open(loc, opts.range, opts.signal)
      return got === undefined ? undefined : { ...got, body: guard(got.body) }
    },

    async delete(loc, signal) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal })
      } catch (err) {
        if (!isMissing(err)) throw translateS3Error(err, signal)
      }
    },

    async discard(loc) {
      await cleanup.run({ what: { bucket: loc.bucket, key: loc.key, cleanup: 'DeleteObject' }, run: (signal) => store.delete(loc, signal) })
    },

    async list(bucket, prefix, maxKeys, signal) {
      const keys: ListedObject[] = []
      let token: string | undefined
      try {
        do {
          const out = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: Math.min(1000, maxKeys - keys.length) }),
            { abortSignal: signal },
          )
          for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push({ key: o.Key, etag: o.ETag })
          token = out.IsTruncated === true ? out.NextContinuationToken : undefined
        } while (token !== undefined && keys.length < maxKeys)
      } catch (err) {
        throw translateS3Error(err, signal)
      }
      return keys
    },

    async ping(bucket, signal) {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal })
    },

    flushCleanup: (ms) => cleanup.flush(ms),
  }
  return store
}
