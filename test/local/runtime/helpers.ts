import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGzip } from 'node:zlib'
import { pack } from 'tar-stream'
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

/** A real HTTP model container (node:http) answering `/invocations` with `respond`, on `port` (default any). */
export async function startContainer(t: Teardown, respond: Responder, port = 0): Promise<TestContainer> {
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
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
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

export function realtimeEndpoint(name: string, containerUrl: string, extra: Partial<RuntimeEndpoint> = {}): RuntimeEndpoint {
  return { name, mode: 'realtime', containerUrl, ...extra }
}

export const MME_PREFIX = 'mme/models/'

/** A multi-model endpoint whose artifacts live under `s3://runtime-test/mme/models/`. */
export function mmeEndpoint(
  name: string,
  containerUrl: string,
  modelsDir: string,
  extra: Partial<NonNullable<RuntimeEndpoint['multiModel']>> = {},
): RuntimeEndpoint {
  return {
    name,
    mode: 'realtime',
    containerUrl,
    multiModel: { modelDataUrl: `s3://${BUCKET}/${MME_PREFIX}`, modelsDir, maxLoadedModels: 4, ...extra },
  }
}

export interface ArtifactEntry {
  name: string
  body?: string | Buffer
  type?: 'file' | 'directory' | 'symlink'
  linkname?: string
}

/** A `.tar.gz` model artifact built in memory (tests only; the runtime itself never buffers one). */
export async function makeArtifact(entries: ArtifactEntry[] | Record<string, string | Buffer>): Promise<Buffer> {
  const list: ArtifactEntry[] = Array.isArray(entries) ? entries : Object.entries(entries).map(([name, body]) => ({ name, body }))
  const tar = pack()
  const gzipped = pipelineToBuffer(tar.pipe(createGzip()))
  for (const e of list) {
    if (e.type === 'directory' || e.type === 'symlink') tar.entry({ name: e.name, type: e.type, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) })
    else tar.entry({ name: e.name }, typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0)))
  }
  tar.finalize()
  return gzipped
}

async function pipelineToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** Uploads `greeting.txt` (the test MME container's "model") packed as an artifact under the MME prefix. */
export async function putModel(s3: S3Client, targetModel: string, greeting: string): Promise<void> {
  await putInput(s3, `${MME_PREFIX}${targetModel}`, await makeArtifact({ 'greeting.txt': greeting }), 'application/gzip')
}

export interface MmeContainer extends TestContainer {
  /** Loaded models by model_name, with what the "model" read from its directory. */
  loaded: Map<string, { url: string; greeting: string }>
  loads: Array<{ model_name: string; url: string }>
  deletes: string[]
  /** Loads wait for this gate while it is set (a slow model load). */
  gate: { promise: Promise<void>; open(): void } | undefined
  /** Answer the next loads with this status instead of loading (e.g. 500, 507). */
  failLoadsWith: number[]
  /** Invocations, in order: model_name and the X-Amzn-SageMaker-Target-Model header. */
  invocations: Array<{ modelName: string; targetModel: string | undefined }>
}

export function newGate(): { promise: Promise<void>; open(): void } {
  let open = (): void => undefined
  const promise = new Promise<void>((r) => (open = r))
  return { promise, open }
}

/**
 * A multi-model container (node:http) implementing the MME contract: `POST /models` loads a model by
 * reading `greeting.txt` from the unpacked directory it is given (so the artifact must really have
 * arrived), `GET /models`, `GET|DELETE /models/{name}`, `POST /models/{name}/invoke` answering
 * `<greeting>:<body>` (404 when not loaded).
 */
export async function mmeContainer(t: Teardown): Promise<MmeContainer> {
  const extra = { loaded: new Map(), loads: [], deletes: [], gate: undefined, failLoadsWith: [], invocations: [] }
  let c: MmeContainer | undefined
  const base = await startContainer(t, (r, res) => void handleMme(c!, r, res))
  c = Object.assign(base, extra) as MmeContainer
  return c
}

async function handleMme(c: MmeContainer, r: SeenRequest, res: ServerResponse): Promise<void> {
  const json = (status: number, body: unknown) => reply(res, status, JSON.stringify(body), 'application/json')
  const m = /^\/models(?:\/([^/]+)(\/invoke)?)?$/.exec(r.url)
  if (m === null) return json(404, { error: 'no route' })
  const name = m[1] === undefined ? undefined : decodeURIComponent(m[1])
  if (name === undefined && r.method === 'POST') {
    const spec = JSON.parse(r.body.toString()) as { model_name: string; url: string }
    c.loads.push(spec)
    if (c.gate !== undefined) await c.gate.promise
    const forced = c.failLoadsWith.shift()
    if (forced !== undefined) return json(forced, { error: `load failed with ${forced}` })
    if (c.loaded.has(spec.model_name)) return json(409, { error: 'already loaded' })
    try {
      const greeting = await readFile(join(spec.url, 'greeting.txt'), 'utf8')
      c.loaded.set(spec.model_name, { url: spec.url, greeting })
    } catch (err) {
      return json(400, { error: `cannot load: ${(err as Error).message}` })
    }
    return json(200, { status: 'loaded' })
  }
  if (name === undefined && r.method === 'GET') {
    return json(200, { models: [...c.loaded].map(([modelName, v]) => ({ modelName, modelUrl: v.url })) })
  }
  const model = name === undefined ? undefined : c.loaded.get(name)
  if (name === undefined || model === undefined) return json(404, { error: `model ${name} not loaded` })
  if (m[2] !== undefined && r.method === 'POST') {
    c.invocations.push({ modelName: name, targetModel: r.headers['x-amzn-sagemaker-target-model'] as string | undefined })
    return reply(res, 200, Buffer.concat([Buffer.from(`${model.greeting}:`), r.body]), r.headers['content-type'] ?? 'text/plain')
  }
  if (r.method === 'DELETE') {
    c.deletes.push(name)
    c.loaded.delete(name)
    return json(200, { status: 'unloaded' })
  }
  return json(200, { modelName: name, modelUrl: model.url })
}
