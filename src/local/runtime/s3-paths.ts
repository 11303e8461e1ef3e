import { parseS3Uri, type S3Location } from '../../lib/s3-uri.js'

export interface S3Object extends S3Location {
  /** `s3://bucket/key`, as SageMaker reports locations. */
  uri: string
}

/** `s3://bucket` or `s3://bucket/prefix[/]` (S3OutputPath / S3FailurePath). */
export function parseS3Path(path: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(path)
  if (m === null) return undefined
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/\/+$/, '') }
}

export function s3ObjectUnder(path: string, ...names: string[]): S3Object {
  const p = parseS3Path(path)
  if (p === undefined) throw new Error(`not an S3 path: ${path}`)
  const key = [p.prefix, ...names].filter((s) => s !== '').join('/')
  return { bucket: p.bucket, key, uri: `s3://${p.bucket}/${key}` }
}

/** InputLocation: `s3://bucket/key` or an https S3 URL; undefined when it names no object. */
export const parseInputLocation = (location: string): S3Location | undefined => parseS3Uri(location)

export interface AsyncLocations {
  output: S3Object
  failure: S3Object | undefined
}

/**
 * Where an async request's result goes: `<S3OutputPath>/<id>.out` and `<S3FailurePath>/<id>-error.out`
 * (the failure naming is unconfirmed: the docs only say "based on the inference id").
 * S3OutputPathExtension (2026 API) is appended to both paths and Filename replaces the output's file
 * name; how the service names the failure object when Filename is set is unconfirmed, so the failure
 * keeps the inference-id name.
 */
export function asyncLocations(
  config: { s3OutputPath: string; s3FailurePath?: string },
  inferenceId: string,
  extension?: string,
  filename?: string,
): AsyncLocations {
  const ext = (extension ?? '').replace(/^\/+|\/+$/g, '')
  return {
    output: s3ObjectUnder(config.s3OutputPath, ext, filename ?? `${inferenceId}.out`),
    failure: config.s3FailurePath === undefined ? undefined : s3ObjectUnder(config.s3FailurePath, ext, `${inferenceId}-error.out`),
  }
}
