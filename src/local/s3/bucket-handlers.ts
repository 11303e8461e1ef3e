// ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation, GetBucketVersioning, DeleteObjects.
import { invalidRequest, malformedXml, S3Error } from './errors.js'
import { isoDate, requireBucketName, sendEmpty, sendXml, type S3Context } from './http-util.js'
import { hasIntegrityHeader, readSmallBody, readXmlBody } from './request-body.js'
import { child, childText, el, S3_XMLNS } from './xml.js'

// Bucket naming rules: 3–63 chars of a-z 0-9 . -, starting and ending with a letter or digit,
// no "..", not an IP address. https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
export function isValidBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name)
}

// DeleteObjects takes at most 1000 keys per request.
const MAX_DELETE_KEYS = 1000
const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024

export function listBuckets(ctx: S3Context): void {
  const buckets = ctx.store
    .listBuckets()
    .map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', isoDate(b.creationDateMs))}${el('BucketRegion', ctx.region)}</Bucket>`)
    .join('')
  sendXml(
    ctx,
    200,
    `<ListAllMyBucketsResult xmlns="${S3_XMLNS}"><Owner>${el('ID', ctx.owner.id)}${el('DisplayName', ctx.owner.displayName)}</Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
  )
}

export async function createBucket(ctx: S3Context): Promise<void> {
  const name = requireBucketName(ctx)
  if (!isValidBucketName(name)) {
    throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name })
  }
  // The optional body is a CreateBucketConfiguration (location constraint); this server has one region.
  await readSmallBody(ctx, 64 * 1024)
  const created = await ctx.store.createBucket(name)
  // us-east-1 answers 200 to re-creating a bucket you own; every other region answers 409.
  if (!created && ctx.region !== 'us-east-1') {
    throw new S3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', { BucketName: name })
  }
  sendEmpty(ctx, 200, { location: `/${name}` })
}

export function headBucket(ctx: S3Context): void {
  ctx.store.bucket(requireBucketName(ctx))
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.region })
}

export async function deleteBucket(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  if (bucket.objects.size > 0) {
    throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: bucket.name })
  }
  await ctx.store.deleteBucket(bucket)
  sendEmpty(ctx, 204)
}

export function getBucketLocation(ctx: S3Context): void {
  ctx.store.bucket(requireBucketName(ctx))
  // us-east-1 is reported as an empty LocationConstraint.
  const region = ctx.region === 'us-east-1' ? '' : ctx.region
  sendXml(ctx, 200, `<LocationConstraint xmlns="${S3_XMLNS}">${region}</LocationConstraint>`)
}

export function getBucketVersioning(ctx: S3Context): void {
  ctx.store.bucket(requireBucketName(ctx))
  sendXml(ctx, 200, `<VersioningConfiguration xmlns="${S3_XMLNS}"/>`)
}

export async function deleteObjects(ctx: S3Context): Promise<void> {
  const bucket = ctx.store.bucket(requireBucketName(ctx))
  // S3 requires Content-MD5 or an x-amz-checksum-* for multi-object delete.
  if (!hasIntegrityHeader(ctx)) throw invalidRequest('Missing required header for this request: Content-MD5')
  const root = await readXmlBody(ctx, MAX_DELETE_BODY_BYTES, 'Delete')
  const quiet = childText(root, 'Quiet')?.trim().toLowerCase() === 'true'
  const objects = root.children.filter((c) => c.name === 'Object')
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw malformedXml()
  const out: string[] = []
  for (const o of objects) {
    const keyEl = child(o, 'Key')
    if (!keyEl) throw malformedXml()
    const key = keyEl.text
    if (Buffer.byteLength(key) > 1024 || key === '') {
      out.push(`<Error>${el('Key', key)}${el('Code', 'KeyTooLongError')}${el('Message', 'Your key is too long')}</Error>`)
      continue
    }
    await ctx.store.deleteObject(bucket, key)
    if (!quiet) out.push(`<Deleted>${el('Key', key)}</Deleted>`)
  }
  sendXml(ctx, 200, `<DeleteResult xmlns="${S3_XMLNS}">${out.join('')}</DeleteResult>`)
}
