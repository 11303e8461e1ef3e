// Embedded S3-compatible server (path-style) on node:http, for the local stack and tests.
// Works with @aws-sdk/client-s3 (forcePathStyle), lib-storage, the AWS CLI and boto3.
import { applyCorsHeaders, preflight } from './cors.js'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino, type Logger } from 'pino'
import { parseQuery, verifySigV4Detailed, type SigV4DetailedResult } from '../sigv4.js'
import { isValidBucketName } from './bucket-handlers.js'
import { errorXml, S3Error } from './errors.js'
import { baseHeaders, type S3Context } from './http-util.js'
import { dispatch } from './router.js'
import { isSigV2Presigned, verifySigV2Presigned } from './sigv2-presign.js'
import { ObjectStore } from './store.js'

export interface LocalS3Options {
  host?: string
  port?: number
  dataDir: string
  region?: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  buckets?: string[]
  logger?: Logger
}

export interface LocalS3Server {
  url: string
  port: number
  close(): Promise<void>
}

// An unread request body up to this size is read and discarded after an error, keeping the connection.
const MAX_DRAIN_BYTES = 8 * 1024 * 1024
// S3 keys are at most 1024 bytes of UTF-8.
const MAX_KEY_BYTES = 1024

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3Server> {
  const logger = options.logger ?? pino({ level: 'silent' })
  const region = options.region ?? 'us-east-1'
  const host = options.host ?? '127.0.0.1'
  const store = await ObjectStore.open(options.dataDir, logger)
  for (const name of options.buckets ?? []) {
    if (!isValidBucketName(name)) throw new Error(`local-s3: invalid bucket name '${name}'`)
    await store.createBucket(name)
  }
  const owner = {
    id: createHash('sha256').update(options.credentials.accessKeyId).digest('hex'),
    displayName: 'local',
  }
  const inflight = new Set<Promise<void>>()
  const lookupSecret = (id: string): string | undefined =>
    id === options.credentials.accessKeyId ? options.credentials.secretAccessKey : undefined

  const handle = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void => {
    const p = handleRequest(req, res, expectContinue).catch((err: unknown) => {
      logger.error({ err }, 'local-s3: unhandled error')
      res.destroy()
    })
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
  }

  const handleRequest = async (req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void> => {
    const started = Date.now()
    const requestId = randomBytes(8).toString('hex').toUpperCase()
    const method = (req.method ?? 'GET').toUpperCase()
    const url = req.url ?? '/'
    const qIndex = url.indexOf('?')
    const rawPath = qIndex < 0 ? url : url.slice(0, qIndex)
    const rawQuery = qIndex < 0 ? '' : url.slice(qIndex + 1)
    let resource = rawPath
    const partial = { req, res, requestId, method }
    try {
      const { bucketName, key } = parsePath(rawPath)
      resource = bucketName === undefined ? '/' : `/${bucketName}${key === undefined ? '' : `/${key}`}`
      const bucket = bucketName === undefined ? undefined : store.findBucket(bucketName)
      // A browser's preflight carries no signature: S3 answers it from the bucket's CORS rules.
      if (method === 'OPTIONS') return preflight(req, res, bucket, key !== undefined, { 'x-amz-request-id': requestId, 'x-amz-id-2': requestId, server: 'AmazonS3' })
      applyCorsHeaders(req, res, bucket)
      const params = parseQuery(rawQuery)
      const auth = isSigV2Presigned(params)
        ? verifySigV2Presigned({ method, path: rawPath, query: params, headers: req.headers }, { lookupSecret })
        : verifySigV4Detailed({ method, path: rawPath, query: rawQuery, headers: req.headers }, { service: 's3', region, lookupSecret })
      if (!auth.ok) throw authError(auth, region)
      // S3 requires the payload hash header on every header-signed request.
      if (!auth.context.presigned && req.headers['x-amz-content-sha256'] === undefined) {
        throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256')
      }
      const query = new Map<string, string>()
      for (const [k, v] of params) if (!query.has(k)) query.set(k, v)
      const ctx: S3Context = {
        req, res, store, logger, requestId, method, bucketName, key, query,
        auth: auth.context, expectContinue, region, owner,
      }
      await dispatch(ctx)
      logger.debug({ requestId, method, url, status: res.statusCode, ms: Date.now() - started }, 'local-s3 request')
    } catch (err) {
      // A client that went away (a reader that stopped, an upload cut off) is not the server's failure.
      const clientGone = req.destroyed || res.destroyed || res.socket?.destroyed === true
      sendError(partial, err, resource)
      if (clientGone) logger.debug({ err, requestId, method, url }, 'local-s3: client went away')
      else if (!(err instanceof S3Error)) logger.error({ err, requestId, method, url }, 'local-s3: internal error')
      else logger.debug({ requestId, method, url, code: err.code, ms: Date.now() - started }, 'local-s3 request failed')
    }
  }

  const sendError = (r: { req: IncomingMessage; res: ServerResponse; requestId: string; method: string }, err: unknown, resource: string): void => {
    const { req, res } = r
    if (res.headersSent || res.destroyed || !res.socket || res.socket.destroyed) {
      // Mid-stream failure (or the client is gone): the only honest signal left is a broken connection.
      res.destroy()
      return
    }
    const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.')
    const headers: Record<string, string | number> = { ...baseHeaders(r as S3Context), ...e.headers }
    // A request that declares no body (a HEAD, a GET) has nothing left to read: its connection stays
    // open for the next request, as S3 keeps it after a 404. (Node may not yet count such a request
    // complete here, since nothing has read its end.)
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
    if (!req.complete && hasBody) {
      // The rest of an unread body is discarded so the client can finish sending and read this answer;
      // a large or unbounded one also ends the connection instead of being read to the end.
      const declared = Number(req.headers['content-length'] ?? NaN)
      if (!(declared <= MAX_DRAIN_BYTES)) headers['connection'] = 'close'
      req.resume()
    }
    const body = Buffer.from(errorXml(e, resource, r.requestId), 'utf8')
    res.writeHead(e.status, { ...headers, 'content-type': 'application/xml', 'content-length': body.length })
    // HEAD errors carry no body (the SDK then names them by status: 404 → NotFound), but the headers a
    // GET would have: without a Content-Length, Node ends the connection after the answer.
    res.end(r.method === 'HEAD' ? undefined : body)
  }

  const server = createServer(
    {
      // Uploads of 1 GiB take a while: no overall request timeout, but headers must arrive promptly.
      requestTimeout: 0,
      headersTimeout: 60_000,
      // Longer than the SDK's idle reuse window, so a reused keep-alive socket is not closed under it.
      keepAliveTimeout: 65_000,
      highWaterMark: 1 << 20,
    },
    (req, res) => handle(req, res, false),
  )
  // Expect: 100-continue: the handler decides (after auth and lookups) whether to let the body come.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => handle(req, res, true))

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  const url = `http://${urlHost}:${port}`
  logger.info({ url, dataDir: options.dataDir }, 'local S3 listening')

  let closing: Promise<void> | undefined
  return {
    url,
    port,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await closed
        // Let interrupted uploads remove their temp files before reporting closed.
        while (inflight.size > 0) await Promise.allSettled([...inflight])
        await store.drain()
      })()
      return closing
    },
  }
}

function parsePath(rawPath: string): { bucketName: string | undefined; key: string | undefined } {
  if (!rawPath.startsWith('/')) throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.")
  const rest = rawPath.slice(1)
  if (rest === '') return { bucketName: undefined, key: undefined }
  const slash = rest.indexOf('/')
  const rawBucket = slash < 0 ? rest : rest.slice(0, slash)
  const rawKey = slash < 0 ? '' : rest.slice(slash + 1)
  let bucketName: string
  let key: string
  try {
    bucketName = decodeURIComponent(rawBucket)
    key = decodeURIComponent(rawKey)
  } catch {
    throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.")
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new S3Error(400, 'KeyTooLongError', 'Your key is too long', { Size: String(Buffer.byteLength(key)), MaxSizeAllowed: String(MAX_KEY_BYTES) })
  }
  return { bucketName, key: key === '' ? undefined : key }
}

function authError(r: Extract<SigV4DetailedResult, { ok: false }>, region: string): S3Error {
  switch (r.code) {
    case 'WrongRegion':
      // S3's wording: "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting
      // 'us-east-1'" (400, with the right <Region>); for presigned URLs the X-Amz-Credential variant.
      return r.presigned
        ? new S3Error(400, 'AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; ${r.message}`, { Region: region })
        : new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; ${r.message}`, { Region: region })
    case 'MissingAuthenticationToken':
      // An anonymous request: this server has no public buckets.
      return new S3Error(403, 'AccessDenied', 'Access Denied')
    case 'InvalidAccessKeyId':
      return new S3Error(403, 'InvalidAccessKeyId', r.message, { AWSAccessKeyId: r.accessKeyId ?? '' })
    case 'SignatureDoesNotMatch':
      return new S3Error(403, 'SignatureDoesNotMatch', r.message, {
        AWSAccessKeyId: r.accessKeyId ?? '',
        StringToSign: r.stringToSign ?? '',
        ...(r.canonicalRequest !== undefined ? { CanonicalRequest: r.canonicalRequest } : {}),
      })
    case 'RequestExpired':
      return r.presigned
        ? new S3Error(403, 'AccessDenied', 'Request has expired')
        : new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
            ServerTime: new Date().toISOString(),
          })
    case 'IncompleteSignature':
      return r.presigned
        ? new S3Error(400, 'AuthorizationQueryParametersError', r.message)
        : new S3Error(400, 'AuthorizationHeaderMalformed', r.message)
  }
}
