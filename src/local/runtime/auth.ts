import type { IncomingMessage } from 'node:http'
import { verifySigV4 } from '../sigv4.js'
import { authErrors, RuntimeError } from './errors.js'

/** Checks a request's SigV4 signature (signing name `sagemaker`); returns the error to answer, if any. */
export type Authenticate = (req: IncomingMessage, payloadSha256Hex: string) => RuntimeError | undefined

// SageMaker's front door allows 5 minutes of clock skew (not SigV4's usual 15): a client whose clock
// is 6 minutes off gets InvalidSignatureException "Signature expired: ... (... - 5 min.)".
const SAGEMAKER_MAX_SKEW_MS = 5 * 60 * 1000

export function createAuthenticator(
  credentials: ReadonlyArray<{ accessKeyId: string; secretAccessKey: string }>,
  region: string,
): Authenticate {
  const secrets = new Map(credentials.map((c) => [c.accessKeyId, c.secretAccessKey]))
  return (req, payloadSha256Hex) => {
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const result = verifySigV4(
      {
        method: req.method ?? 'GET',
        path: q < 0 ? raw : raw.slice(0, q),
        query: q < 0 ? '' : raw.slice(q + 1),
        headers: req.headers,
        // boto3 signs the body hash without sending x-amz-content-sha256 for non-S3 services.
        payloadHash: payloadSha256Hex,
      },
      // Real time, not the runtime's injectable clock: tests move that clock to expire queued
      // requests, which must not make freshly signed requests look minutes stale.
      { service: 'sagemaker', region, maxSkewMs: SAGEMAKER_MAX_SKEW_MS, lookupSecret: (id) => secrets.get(id) },
    )
    if (result.ok) return undefined
    // How the AWS front door answers rest-json services (the SDKs raise these by x-amzn-ErrorType).
    switch (result.code) {
      case 'MissingAuthenticationToken':
        return authErrors.missingToken()
      case 'InvalidAccessKeyId':
        return authErrors.unrecognizedClient()
      case 'SignatureDoesNotMatch':
        return authErrors.invalidSignature(
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
        )
      case 'RequestExpired':
        // JSON front doors answer a stale signature with 400 (not 403) InvalidSignatureException
        // "Signature expired: ... (... - 5 min.)", as Kinesis, Rekognition and DynamoDB clients report it.
        return new RuntimeError(400, 'InvalidSignatureException', result.message, {}, 'message')
      case 'WrongRegion':
        // rest-json front doors: 403 InvalidSignatureException "Credential should be scoped to a valid
        // region, not 'eu-west-1'. " (trailing space included, as AWS sends it).
        return authErrors.invalidSignature(`Credential should be scoped to a valid region, not '${result.scopeRegion}'. `)
      case 'IncompleteSignature':
        return new RuntimeError(400, 'IncompleteSignatureException', result.message, {}, 'message')
    }
  }
}
