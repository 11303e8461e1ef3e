import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import type { Readable } from 'node:stream'
import { errors } from '../errors.js'
import type { S3Location } from '../lib/s3-uri.js'
import type { ObjectBody, ObjectInfo, ObjectStore, StreamUploadOptions } from './object-store.js'

export interface S3ObjectStoreOptions {
  client: S3Client
  partSizeBytes: number
  queueSize: number
}

const isMissing = (err: unknown): boolean => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } }
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404
}

/** Throttling or a 5xx from S3 is worth a retry by the client; anything else is our failure. */
function translate(err: unknown): Error {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown }
  const status = e.$metadata?.httpStatusCode ?? 0
  if (e.name === 'AbortError') return err as Error
  if (status === 503 || e.name === 'SlowDown' || e.$retryable !== undefined) return errors.upstreamUnavailable('Storage', 5, err)
  return errors.upstreamFailed('Storage', err)
}

export function createS3ObjectStore(options: S3ObjectStoreOptions): ObjectStore {
  const { client } = options
  const store: ObjectStore = {
    async upload(loc: S3Location, body: Readable, opts: StreamUploadOptions) {
      // Never call Upload.abort(): it rejects at once while parts already in flight carry on and may
      // land after AbortMultipartUpload. Failing the body instead makes every part loop stop, waits
      // for parts in flight, then aborts the multipart upload (leavePartsOnError: false). And no
      // ContentLength: lib-storage hangs when given one with a stream.
      const upload = new Upload({
        client,
        params: { Bucket: loc.bucket, Key: loc.key, Body: body, ContentType: opts.contentType, Metadata: opts.metadata },
        partSize: options.partSizeBytes,
        queueSize: options.queueSize,
        leavePartsOnError: false,
      })
      let bodyError: Error | undefined
      body.once('error', (err) => {
        bodyError = err
      })
      try {
        await upload.done()
      } catch (err) {
        throw bodyError ?? translate(err)
      }
      if (bodyError !== undefined) {
        // The body failed after its last byte was taken (a single PutObject completed): remove it.
        await store.delete(loc).catch(() => undefined)
        throw bodyError
      }
    },

    async putSmall(loc, body, contentType, signal) {
      try {
        await client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentType: contentType }), { abortSignal: signal })
      } catch (err) {
        throw translate(err)
      }
    },

    async head(loc, signal): Promise<ObjectInfo | undefined> {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal })
        return { sizeBytes: out.ContentLength ?? 0, contentType: out.ContentType, etag: out.ETag, lastModified: out.LastModified }
      } catch (err) {
        if (isMissing(err)) return undefined
        throw translate(err)
      }
    },

    async readText(loc, maxBytes, signal) {
      const got = await store.get(loc, { range: { start: 0, end: maxBytes - 1 }, ...(signal ? { signal } : {}) }).catch((err: unknown) => {
        // An empty object cannot satisfy a range: read it as empty text.
        if ((err as { name?: string }).name === 'InvalidRange') return 'empty' as const
        throw err
      })
      if (got === 'empty') return ''
      if (got === undefined) return undefined
      const chunks: Buffer[] = []
      for await (const chunk of got.body) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    },

    async get(loc, opts = {}): Promise<ObjectBody | undefined> {
      try {
        const out = await client.send(
          new GetObjectCommand({
            Bucket: loc.bucket,
            Key: loc.key,
            ...(opts.range ? { Range: `bytes=${opts.range.start}-${opts.range.end}` } : {}),
          }),
          { abortSignal: opts.signal },
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
        throw translate(err)
      }
    },

    async delete(loc) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }))
      } catch (err) {
        if (!isMissing(err)) throw translate(err)
      }
    },

    async listKeys(bucket, prefix, maxKeys, signal) {
      const keys: string[] = []
      let token: string | undefined
      try {
        do {
          const out = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: Math.min(1000, maxKeys - keys.length) }),
            { abortSignal: signal },
          )
          for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key)
          token = out.IsTruncated === true ? out.NextContinuationToken : undefined
        } while (token !== undefined && keys.length < maxKeys)
      } catch (err) {
        throw translate(err)
      }
      return keys
    },

    async ping(bucket, signal) {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal })
    },
  }
  return store
}
