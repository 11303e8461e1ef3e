import type { IncomingMessage, ServerResponse } from 'node:http'
import { verifySigV4, type SigV4FailureCode } from '../sigv4.js'
import { readSmallBody } from '../runtime/request-body.js'
import type { RequestContext } from '../runtime/router.js'
import { el, XML_DECL } from '../s3/xml.js'

/**
 * The SNS Query protocol's framing (API version 2010-03-31): form-encoded `Action=` requests signed
 * with SigV4 (signing name `sns`), answered with `<ActionResponse>` XML documents or an
 * `<ErrorResponse>`, as botocore and the AWS CLI parse them.
 */
export const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/'
// Publish takes messages up to 256 KiB; the other parameters are small.
const QUERY_BODY_MAX_BYTES = 300 * 1024

export class SnsQueryError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export const queryErrors = {
  invalidParameter: (message: string) => new SnsQueryError(400, 'InvalidParameter', message),
  notFound: (message: string) => new SnsQueryError(404, 'NotFound', message),
  invalidAction: (action: string) => new SnsQueryError(400, 'InvalidAction', `The action ${action} is not valid for this web service.`),
}

/** `<{Action}Response><{Action}Result>…</…Result><ResponseMetadata>…</…></…Response>` */
export function sendResult(ctx: RequestContext, action: string, resultXml: string | undefined): void {
  const result = resultXml === undefined ? '' : `<${action}Result>${resultXml}</${action}Result>`
  const body = `${XML_DECL}<${action}Response xmlns="${SNS_XMLNS}">${result}<ResponseMetadata>${el('RequestId', ctx.requestId)}</ResponseMetadata></${action}Response>`
  send(ctx.res, 200, body)
}

export function sendQueryError(ctx: RequestContext, err: SnsQueryError): void {
  const type = err.statusCode >= 500 ? 'Receiver' : 'Sender'
  const body = `${XML_DECL}<ErrorResponse xmlns="${SNS_XMLNS}"><Error>${el('Type', type)}${el('Code', err.code)}${el('Message', err.message)}</Error>${el('RequestId', ctx.requestId)}</ErrorResponse>`
  send(ctx.res, err.statusCode, body)
}

function send(res: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(body, 'utf8')
  res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': String(bytes.length) })
  res.end(bytes)
}

/** How a query service's front door words SigV4 failures (403 unless the request is incomplete). */
function authError(code: SigV4FailureCode, message: string): SnsQueryError {
  switch (code) {
    case 'MissingAuthenticationToken':
      return new SnsQueryError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token')
    case 'InvalidAccessKeyId':
      return new SnsQueryError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
    case 'IncompleteSignature':
      return new SnsQueryError(400, 'IncompleteSignature', message)
    default:
      return new SnsQueryError(403, 'SignatureDoesNotMatch', message)
  }
}

/** Reads and authenticates a signed POST; its form parameters. */
export async function signedParams(
  req: IncomingMessage,
  auth: { region: string; secrets: ReadonlyMap<string, string> },
): Promise<URLSearchParams> {
  const body = await readSmallBody(req, QUERY_BODY_MAX_BYTES)
  const raw = req.url ?? '/'
  const q = raw.indexOf('?')
  const result = verifySigV4(
    { method: req.method ?? 'POST', path: q < 0 ? raw : raw.slice(0, q), query: q < 0 ? '' : raw.slice(q + 1), headers: req.headers, payloadHash: body.sha256Hex },
    { service: 'sns', region: auth.region, lookupSecret: (id) => auth.secrets.get(id) },
  )
  if (!result.ok) throw authError(result.code, result.message)
  if (body.sizeBytes > QUERY_BODY_MAX_BYTES) throw queryErrors.invalidParameter('The request is too large.')
  const params = new URLSearchParams(body.bytes.toString('utf8'))
  // Query parameters count too (the AWS CLI sends them in the body; a hand-made request may not).
  if (q >= 0) for (const [k, v] of new URLSearchParams(raw.slice(q + 1))) if (!params.has(k)) params.set(k, v)
  return params
}

export function required(params: URLSearchParams, name: string): string {
  const value = params.get(name)
  if (value === null || value === '') throw queryErrors.invalidParameter(`Invalid parameter: ${name} Reason: it is required`)
  return value
}

