// S3 error model: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
import { escapeXml } from './xml.js'

export class S3Error extends Error {
  readonly code: string
  readonly status: number
  /** Extra elements of the <Error> document (e.g. Key, BucketName, UploadId). */
  readonly fields: Record<string, string>
  readonly headers: Record<string, string>

  constructor(
    status: number,
    code: string,
    message: string,
    fields: Record<string, string> = {},
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'S3Error'
    this.status = status
    this.code = code
    this.fields = fields
    this.headers = options.headers ?? {}
  }
}

export function errorXml(err: S3Error, resource: string, requestId: string): string {
  const extra = Object.entries(err.fields)
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('')
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>${extra}` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  )
}

export const noSuchBucket = (bucket: string): S3Error =>
  new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket })
export const noSuchKey = (key: string): S3Error =>
  new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key })
export const noSuchUpload = (uploadId: string): S3Error =>
  new S3Error(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  )
export const invalidArgument = (message: string, name?: string, value?: string): S3Error =>
  new S3Error(400, 'InvalidArgument', message, name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' })
export const invalidRequest = (message: string): S3Error => new S3Error(400, 'InvalidRequest', message)
export const malformedXml = (): S3Error =>
  new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema')
export const badDigest = (what: string): S3Error =>
  new S3Error(400, 'BadDigest', `The ${what} you specified did not match the calculated checksum.`)
export const preconditionFailed = (condition: string): S3Error =>
  new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: condition })
export const incompleteBody = (): S3Error =>
  new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header')
