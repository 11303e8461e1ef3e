import { Readable } from 'node:stream'
import type {
  AsyncInvocation,
  AsyncInvocationResult,
  InferenceRuntime,
  InvokeOptions,
  RealtimeInvocation,
  RealtimeResult,
  StreamingResult,
} from '../../src/clients/inference-runtime.js'
import type { ObjectInfo, ObjectStore } from '../../src/clients/object-store.js'
import type { S3Location } from '../../src/lib/s3-uri.js'

/** An in-memory ObjectStore for route tests of the gateway's own logic (not a stand-in for S3 in integration tests). */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; contentType: string; version?: number; metadata?: Record<string, string> }>()
  failUploads: Error | undefined
  private k = (l: S3Location) => `${l.bucket}/${l.key}`

  async upload(loc: S3Location, body: Readable, o: { contentType: string }) {
    const chunks: Buffer[] = []
    for await (const c of body) chunks.push(c as Buffer)
    if (this.failUploads) throw this.failUploads
    this.objects.set(this.k(loc), { body: Buffer.concat(chunks), contentType: o.contentType })
  }
  async putSmall(loc: S3Location, body: string | Buffer, contentType: string) {
    this.objects.set(this.k(loc), { body: Buffer.from(body), contentType, version: (this.objects.get(this.k(loc))?.version ?? 0) + 1 })
  }
  async putIf(loc: S3Location, body: string | Buffer, contentType: string, condition: { ifNoneMatch: '*' } | { ifMatch: string }) {
    const existing = this.objects.get(this.k(loc))
    const etag = existing && `"${existing.version ?? 0}"`
    if ('ifNoneMatch' in condition ? existing !== undefined : etag !== condition.ifMatch) return undefined
    const version = (existing?.version ?? 0) + 1
    this.objects.set(this.k(loc), { body: Buffer.from(body), contentType, version })
    return `"${version}"`
  }
  async readSmall(loc: S3Location, maxBytes: number) {
    const o = this.objects.get(this.k(loc))
    return o && { text: o.body.subarray(0, maxBytes).toString('utf8'), etag: `"${o.version ?? 0}"` }
  }
  headCalls = 0
  async head(loc: S3Location): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(this.k(loc))
    this.headCalls++
    return o && { sizeBytes: o.body.length, contentType: o.contentType, etag: '"x"', lastModified: new Date(0), metadata: o.metadata ?? {} }
  }
  async readText(loc: S3Location, maxBytes: number) {
    return this.objects.get(this.k(loc))?.body.subarray(0, maxBytes).toString('utf8')
  }
  async get(loc: S3Location, o: { range?: { start: number; end: number } } = {}) {
    const obj = this.objects.get(this.k(loc))
    if (!obj) return undefined
    const body = o.range ? obj.body.subarray(o.range.start, o.range.end + 1) : obj.body
    return {
      body: Readable.from([body]),
      sizeBytes: body.length,
      contentType: obj.contentType,
      etag: '"x"',
      lastModified: new Date(0),
      contentRange: o.range ? `bytes ${o.range.start}-${o.range.end}/${obj.body.length}` : undefined,
    }
  }
  async delete(loc: S3Location) {
    this.objects.delete(this.k(loc))
  }
  async discard(loc: S3Location) {
    this.objects.delete(this.k(loc))
  }
  async flushCleanup() {
    return 0
  }
  async ping() {}
  async list(bucket: string, prefix: string, maxKeys: number) {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(`${bucket}/${prefix}`))
      .sort()
      .slice(0, maxKeys)
      .map((k) => ({ key: k.slice(bucket.length + 1), etag: `"${this.objects.get(k)!.version ?? 0}"` }))
  }
  keys(): string[] {
    return [...this.objects.keys()].sort()
  }
}

export class FakeRuntime implements InferenceRuntime {
  readonly calls: AsyncInvocation[] = []
  fail: Error | undefined
  reachable = true
  async invokeAsync(req: AsyncInvocation): Promise<AsyncInvocationResult> {
    this.calls.push(req)
    if (this.fail) throw this.fail
    return {
      inferenceId: req.inferenceId,
      outputLocation: `s3://out/results/${req.inferenceId}.out`,
      failureLocation: `s3://out/failures/${req.inferenceId}-error.out`,
    }
  }
  async ping() {
    if (!this.reachable) throw new Error('unreachable')
  }

  /** Real-time: each call takes the next scripted outcome (an error to throw, or a result); default echo. */
  readonly realtimeCalls: Array<{ request: RealtimeInvocation; options: InvokeOptions; stream: boolean }> = []
  readonly outcomes: Array<Error | RealtimeResult> = []
  streamChunks: Array<Uint8Array | Error> = [Buffer.from('a'), Buffer.from('b')]

  private next(request: RealtimeInvocation): RealtimeResult {
    const outcome = this.outcomes.shift()
    if (outcome instanceof Error) throw outcome
    return outcome ?? { body: request.body, ...(request.contentType ? { contentType: request.contentType } : {}), invokedVariant: 'AllTraffic' }
  }
  async invoke(request: RealtimeInvocation, options: InvokeOptions): Promise<RealtimeResult> {
    this.realtimeCalls.push({ request, options, stream: false })
    return this.next(request)
  }
  async invokeStream(request: RealtimeInvocation, options: InvokeOptions): Promise<StreamingResult> {
    this.realtimeCalls.push({ request, options, stream: true })
    const first = this.next(request)
    const chunks = this.streamChunks
    return {
      contentType: first.contentType ?? 'application/octet-stream',
      chunks: (async function* () {
        for (const c of chunks) {
          if (c instanceof Error) throw c
          yield c
        }
      })(),
    }
  }
}
