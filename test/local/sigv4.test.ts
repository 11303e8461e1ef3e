import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import t from 'tap'
import { AwsChunkedDecoder } from '../../src/local/s3/aws-chunked.js'
import { canonicalUri, verifySigV4, verifySigV4Detailed, type SigV4Request, type SigV4Result } from '../../src/local/sigv4.js'
import { signer } from './s3/raw-http.js'

const CREDS = { accessKeyId: 'AKIDLOCALS3TEST', secretAccessKey: 'local-s3-test-secret' }
const lookupSecret = (id: string): string | undefined => (id === CREDS.accessKeyId ? CREDS.secretAccessKey : undefined)

interface Signable {
  method: string
  path: string
  query?: Record<string, string | string[]>
  headers?: Record<string, string>
}

function rawQuery(q: Signable['query']): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(q ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`)
  }
  return parts.join('&')
}

async function signed(service: string, r: Signable, opts: { presignExpiresS?: number; signingDate?: Date } = {}): Promise<SigV4Request> {
  const request = {
    method: r.method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 9000,
    path: r.path,
    query: r.query ?? {},
    headers: { host: '127.0.0.1:9000', ...(r.headers ?? {}) },
  }
  const s = signer(service)
  const out =
    opts.presignExpiresS !== undefined
      ? await s.presign(request, { expiresIn: opts.presignExpiresS, ...(opts.signingDate ? { signingDate: opts.signingDate } : {}) })
      : await s.sign(request, opts.signingDate ? { signingDate: opts.signingDate } : {})
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(out.headers)) headers[k.toLowerCase()] = v
  return { method: out.method, path: out.path, query: rawQuery(out.query as Signable['query']), headers }
}

const ok = (r: SigV4Result): boolean => r.ok

t.test('s3: header auth over keys with spaces, percent signs and unicode (path signed as sent)', async (t) => {
  for (const path of ['/bucket/a%20b/%25c/%C3%BC', '/bucket/plain.txt', '/bucket/x%2By%21%27%28%29%2A', '/bucket//double//']) {
    const req = await signed('s3', {
      method: 'PUT',
      path,
      query: { partNumber: '1', uploadId: 'a/b+c=d', 'x-id': 'UploadPart' },
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-type': 'text/plain' },
    })
    const r = verifySigV4(req, { service: 's3', region: 'us-east-1', lookupSecret })
    t.same(r, { ok: true, accessKeyId: CREDS.accessKeyId, payloadHash: 'UNSIGNED-PAYLOAD' }, path)
  }
})

t.test('non-S3 services sign the path URI-encoded once more', async (t) => {
  const req = await signed('sagemaker', {
    method: 'POST',
    path: '/endpoints/my%20ep%25x/invocations',
    headers: { 'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  })
  t.ok(ok(verifySigV4(req, { service: 'sagemaker', region: 'us-east-1', lookupSecret })))
  t.equal(canonicalUri('/endpoints/my%20ep%25x/invocations', 'sagemaker'), '/endpoints/my%2520ep%2525x/invocations')
  t.equal(canonicalUri('/a%20b', 's3'), '/a%20b')
  const asS3 = verifySigV4(req, { service: 's3', region: 'us-east-1', lookupSecret })
  t.equal(asS3.ok ? 'ok' : asS3.code, 'IncompleteSignature', 'the credential scope names the service')
})

t.test('the real SageMaker runtime client passes verification (header auth, double-encoded path)', async (t) => {
  const results: SigV4Result[] = []
  const server = createServer((req: IncomingMessage, res) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    results.push(
      verifySigV4(
        { method: req.method ?? '', path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: req.headers },
        { service: 'sagemaker', region: 'us-east-1', lookupSecret },
      ),
    )
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const client = new SageMakerRuntimeClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', credentials: CREDS })
  t.teardown(() => client.destroy())
  for (const EndpointName of ['my-endpoint', 'odd name%']) {
    await client.send(new InvokeEndpointCommand({ EndpointName, Body: '{"inputs":"x"}', ContentType: 'application/json' }))
  }
  t.same(results.map((r) => r.ok), [true, true])
})

t.test('failures: wrong secret, unknown key, no auth, malformed header, clock skew', async (t) => {
  const base = await signed('s3', { method: 'GET', path: '/bucket/key', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } })
  const code = (r: SigV4Result): string => (r.ok ? 'ok' : r.code)
  t.equal(code(verifySigV4(base, { service: 's3', region: 'us-east-1', lookupSecret: () => 'other-secret' })), 'SignatureDoesNotMatch')
  t.equal(code(verifySigV4(base, { service: 's3', region: 'us-east-1', lookupSecret: () => undefined })), 'InvalidAccessKeyId')
  t.equal(code(verifySigV4({ ...base, path: '/bucket/other' }, { service: 's3', region: 'us-east-1', lookupSecret })), 'SignatureDoesNotMatch')
  t.equal(code(verifySigV4({ ...base, query: 'extra=1' }, { service: 's3', region: 'us-east-1', lookupSecret })), 'SignatureDoesNotMatch')
  const { authorization: _a, ...noAuth } = base.headers
  t.equal(code(verifySigV4({ ...base, headers: noAuth }, { service: 's3', region: 'us-east-1', lookupSecret })), 'MissingAuthenticationToken')
  t.equal(code(verifySigV4({ ...base, headers: { ...base.headers, authorization: 'AWS4-HMAC-SHA256 Credential=x' } }, { service: 's3', region: 'us-east-1', lookupSecret })), 'IncompleteSignature')
  t.equal(code(verifySigV4(base, { service: 's3', region: 'us-east-1', lookupSecret, nowMs: Date.now() + 20 * 60_000 })), 'RequestExpired')
  t.equal(code(verifySigV4(base, { service: 's3', region: 'us-east-1', lookupSecret, nowMs: Date.now() + 5 * 60_000 })), 'ok', 'small skew is fine')
})

t.test('presigned query auth, with expiry', async (t) => {
  const req = await signed(
    's3',
    { method: 'GET', path: '/bucket/some%20key', query: { 'response-content-type': 'text/plain' }, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } },
    { presignExpiresS: 60 },
  )
  t.notOk(req.headers.authorization)
  t.match(req.query, /X-Amz-Signature=/)
  // A presigned URL is used without the signer's extra headers.
  const bare = { ...req, headers: { host: req.headers.host } }
  t.same(verifySigV4(bare, { service: 's3', region: 'us-east-1', lookupSecret }), { ok: true, accessKeyId: CREDS.accessKeyId, payloadHash: 'UNSIGNED-PAYLOAD' })
  const late = verifySigV4(bare, { service: 's3', region: 'us-east-1', lookupSecret, nowMs: Date.now() + 61_000 })
  t.equal(late.ok ? 'ok' : late.code, 'RequestExpired')
  const tampered = verifySigV4({ ...bare, query: bare.query.replace('text%2Fplain', 'text%2Fhtml') }, { service: 's3', region: 'us-east-1', lookupSecret })
  t.equal(tampered.ok ? 'ok' : tampered.code, 'SignatureDoesNotMatch')
})

t.test('aws-chunked signatures: the worked example of the S3 SigV4 streaming documentation', async (t) => {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html (66560 bytes of 'a' in 64 KiB chunks)
  const headers = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
  }
  const r = verifySigV4Detailed(
    { method: 'PUT', path: '/examplebucket/chunkObject.txt', query: '', headers },
    { service: 's3', region: 'us-east-1', lookupSecret: () => 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', nowMs: Date.UTC(2013, 4, 24) },
  )
  if (!r.ok) throw new Error(r.message)
  const chunk = (n: number, sig: string): Buffer => Buffer.concat([Buffer.from(`${n.toString(16)};chunk-signature=${sig}\r\n`), Buffer.alloc(n, 'a'), Buffer.from('\r\n')])
  const body = Buffer.concat([
    chunk(65536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'),
    chunk(1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'),
    Buffer.from('0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
  ])
  t.equal(body.length, 66824)
  const decode = async (input: Buffer): Promise<number> => {
    let n = 0
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((n += c.length), cb()) })
    // Feed it in awkward slices to exercise chunk headers split across reads.
    const slices = (function* () {
      for (let o = 0; o < input.length; o += 7001) yield input.subarray(o, o + 7001)
    })()
    await pipeline(Readable.from(slices), new AwsChunkedDecoder({ signing: r.context }), sink)
    return n
  }
  t.equal(await decode(body), 66560)
  const tampered = Buffer.from(body)
  tampered[100] = 'b'.charCodeAt(0)
  await t.rejects(decode(tampered), { code: 'SignatureDoesNotMatch' })
})
