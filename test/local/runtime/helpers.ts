import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createS3Client } from '../../../src/clients/aws.js'
import { startLocalS3 } from '../../../src/local/s3/server.js'
import { startLocalRuntime, type LocalRuntime, type RuntimeEndpoint } from '../../../src/local/runtime/server.js'

export const REGION = 'us-east-1'
export const ACCOUNT_ID = '123456789012'
export const BUCKET = 'runtime-test'
export const CREDENTIALS = { accessKeyId: 'AKIDLOCALRUNTIME', secretAccessKey: 'local-runtime-secret' }

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface TestContainer {
  url: string
  seen: SeenRequest[]
  /** Requests held by a holding container, in arrival order; call release() to answer one. */
  held: Array<{ request: SeenRequest; release(status?: number, body?: string): void }>
}

type Responder = (request: SeenRequest, res: ServerResponse, req: IncomingMessage) => void

/** A real HTTP model container (node:http) answering `/invocations` with `respond`. */
export async function startContainer(t: Teardown, respond: Responder): Promise<TestContainer> {
  const container: TestContainer = { url: '', seen: [], held: [] }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url === '/ping') return void res.end()
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) }
      container.seen.push(request)
      respond(request, res, req)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  container.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  return container
}

export function reply(res: ServerResponse, status: number, body: string | Buffer, contentType: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)) })
  res.end(body)
}

/** Echoes the body back with its own media type, and reports the headers it got. */
export const echoContainer = (t: Teardown) =>
  startContainer(t, (r, res) => reply(res, 200, Buffer.concat([Buffer.from('echo:'), r.body]), 'application/x-echo'))

/** Holds every request until the test releases it. */
export function holdingContainer(t: Teardown): Promise<TestContainer> {
  let container: TestContainer | undefined
  const p = startContainer(t, (request, res) => {
    container!.held.push({ request, release: (status = 200, body = `done:${request.body.toString()}`) => reply(res, status, body, 'text/plain') })
  })
  return p.then((c) => (container = c))
}

export function asyncEndpoint(name: string, containerUrl: string, extra: Partial<NonNullable<RuntimeEndpoint['async']>> = {}): RuntimeEndpoint {
  return {
    name,
    mode: 'async',
    containerUrl,
    async: {
      s3OutputPath: `s3://${BUCKET}/out`,
      s3FailurePath: `s3://${BUCKET}/failures/`,
      maxConcurrentInvocationsPerInstance: 4,
      instanceCount: 1,
      ...extra,
    },
  }
}

export interface Stack {
  runtime: LocalRuntime
  s3: S3Client
  sagemaker: SageMakerRuntimeClient
  /** A client signing with a key the runtime does not know. */
  clientWith(credentials: { accessKeyId: string; secretAccessKey: string }): SageMakerRuntimeClient
}

/** Local S3 + the runtime on port 0 in a temp dir, and real SDK clients aimed at them. */
export async function startStack(t: Teardown, endpoints: RuntimeEndpoint[], clock?: () => number): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-runtime-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const s3Server = await startLocalS3({ dataDir, credentials: CREDENTIALS, buckets: [BUCKET], port: 0, region: REGION })
  t.teardown(() => s3Server.close())
  const s3 = createS3Client({ region: REGION, endpoint: s3Server.url, credentials: CREDENTIALS, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const runtime = await startLocalRuntime({
    region: REGION,
    accountId: ACCOUNT_ID,
    credentials: [CREDENTIALS],
    s3,
    endpoints,
    ...(clock !== undefined ? { clock } : {}),
  })
  t.teardown(() => runtime.close())
  const clientWith = (credentials: { accessKeyId: string; secretAccessKey: string }) => {
    const client = new SageMakerRuntimeClient({ region: REGION, endpoint: runtime.url, credentials })
    t.teardown(() => client.destroy())
    return client
  }
  return { runtime, s3, sagemaker: clientWith(CREDENTIALS), clientWith }
}

export async function putInput(s3: S3Client, key: string, body: string | Buffer, contentType = 'application/octet-stream'): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: contentType }))
  return `s3://${BUCKET}/${key}`
}

/** Polls until the object exists (bounded); resolves with its body and content type. */
export async function waitForObject(s3: S3Client, uri: string, timeoutMs = 10_000): Promise<{ body: string; contentType: string | undefined }> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)
  if (m === null) throw new Error(`not an s3 uri: ${uri}`)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const obj = await s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }))
      return { body: await obj.Body!.transformToString(), contentType: obj.ContentType }
    } catch (err) {
      if ((err as Error).name !== 'NoSuchKey' || Date.now() > deadline) throw err
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Polls a condition (bounded) — for counters that change asynchronously. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** True when no object exists at `uri` (GetObject → NoSuchKey). */
export async function objectMissing(s3: S3Client, uri: string): Promise<boolean> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!
  try {
    await s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }))
    return false
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return true
    throw err
  }
}
