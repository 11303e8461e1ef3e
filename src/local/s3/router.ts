// Maps a path-style request (/{bucket}/{key}?subresource) to its S3 operation.
import { S3Error } from './errors.js'
import { createBucket, deleteBucket, deleteObjects, getBucketLocation, getBucketVersioning, headBucket, listBuckets } from './bucket-handlers.js'
import { deleteBucketCors, getBucketCors, putBucketCors } from './cors.js'
import type { S3Context } from './http-util.js'
import { listObjects } from './list-objects.js'
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from './multipart-handlers.js'
import { copyObject, deleteObject, getObject, putObject } from './object-handlers.js'

// Sub-resources this server does not implement: answered 501 rather than mistaken for another operation.
const UNSUPPORTED = [
  'acl', 'analytics', 'accelerate', 'attributes', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'restore', 'retention',
  'select', 'tagging', 'torrent', 'versions', 'website', 'renameObject', 'session',
]

const notImplemented = (): S3Error =>
  new S3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented')
const methodNotAllowed = (method: string, resource: string): S3Error =>
  new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', {
    Method: method,
    ResourceType: resource,
  })

export async function dispatch(ctx: S3Context): Promise<void> {
  const { method, query } = ctx
  if (UNSUPPORTED.some((name) => query.has(name))) throw notImplemented()
  if (query.has('cors') && ctx.bucketName !== undefined && ctx.key === undefined) {
    if (method === 'PUT') return putBucketCors(ctx)
    if (method === 'GET') return getBucketCors(ctx)
    if (method === 'DELETE') return deleteBucketCors(ctx)
    throw methodNotAllowed(method, 'BUCKET')
  }
  if (ctx.bucketName === undefined) {
    if (method === 'GET') return listBuckets(ctx)
    throw methodNotAllowed(method, 'SERVICE')
  }
  if (ctx.key === undefined) {
    switch (method) {
      case 'GET':
        if (query.has('location')) return getBucketLocation(ctx)
        if (query.has('versioning')) return getBucketVersioning(ctx)
        if (query.has('uploads')) return listMultipartUploads(ctx)
        return listObjects(ctx, query.get('list-type') === '2')
      case 'HEAD':
        return headBucket(ctx)
      case 'PUT':
        if (query.size > 0 && !query.has('x-id')) throw notImplemented()
        return createBucket(ctx)
      case 'DELETE':
        return deleteBucket(ctx)
      case 'POST':
        if (query.has('delete')) return deleteObjects(ctx)
        throw notImplemented()
      default:
        throw methodNotAllowed(method, 'BUCKET')
    }
  }
  const copy = ctx.req.headers['x-amz-copy-source'] !== undefined
  switch (method) {
    case 'GET':
      if (query.has('uploadId')) return listParts(ctx)
      return getObject(ctx, false)
    case 'HEAD':
      return getObject(ctx, true)
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) return copy ? uploadPartCopy(ctx) : uploadPart(ctx)
      return copy ? copyObject(ctx) : putObject(ctx)
    case 'DELETE':
      if (query.has('uploadId')) return abortMultipartUpload(ctx)
      return deleteObject(ctx)
    case 'POST':
      if (query.has('uploads')) return createMultipartUpload(ctx)
      if (query.has('uploadId')) return completeMultipartUpload(ctx)
      throw notImplemented()
    default:
      throw methodNotAllowed(method, 'OBJECT')
  }
}
