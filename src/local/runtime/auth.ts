import type { IncomingMessage } from 'node:http'
import { verifySigV4 } from '../sigv4.js'
import { authErrors, RuntimeError } from './errors.js'

/** Checks a request's SigV4 signature (signing name `sagemaker`); returns the error to answer, if any. */
export type Authenticate = (req: IncomingMessage, payloadSha256Hex: string) => RuntimeError | undefined

export function createAuthenticator(credentials: ReadonlyArray<{ accessKeyId: string; secretAccessKey: string }>): Authenticate {
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
      // requests, which must not make freshly signed requests look 15 minutes stale.
      { service: 'sagemaker', lookupSecret: (id) => secrets.get(id) },
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
        return authErrors.invalidSignature(result.message)
      case 'IncompleteSignature':
        return new RuntimeError(400, 'IncompleteSignatureException', result.message, {}, 'message')
    }
  }
}
