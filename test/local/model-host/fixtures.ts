// Test-only handlers written as plain ESM into a temp handlers folder, plus small HTTP helpers.
import { readdir, writeFile, mkdir } from 'node:fs/promises'
import { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Hooks the fixture handlers call, so a test can see (and gate) what happens inside the host. */
export interface FixtureHooks {
  started?: () => void
  aborted?: (reason: unknown) => void
  releaseModel?: () => void
  /** stream-gated: set by the handler while it waits; the test calls it to let the next chunk out. */
  proceed?: () => void
  /** stream-endless: how many chunks it has produced so far. */
  produced?: (count: number) => void
  /** stream-endless: its iterator was closed (finally ran). */
  closed?: () => void
  /** artifact: unloadFn ran for the model loaded from this directory. */
  unloaded?: (modelDir: string) => void
}

declare global {
  var __modelHostFixture: FixtureHooks | undefined
}

const HANDLERS: Record<string, string> = {
  // Echoes the body; ignores Accept.
  echo: `export const handler = {
    modelFn: () => ({}),
    inputFn: async (body, contentType) => ({ bytes: await body.buffer(), contentType }),
    predictFn: (input) => input,
    outputFn: (p) => ({ body: p.bytes, contentType: p.contentType || 'application/octet-stream' }),
  }`,
  // Waits until its signal aborts (client gone or timeout), reporting start and abort.
  slow: `export const handler = {
    modelFn: () => ({}),
    inputFn: () => ({}),
    predictFn: async (_input, _model, ctx) => {
      globalThis.__modelHostFixture?.started?.()
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))
      globalThis.__modelHostFixture?.aborted?.(ctx.signal.reason)
      throw ctx.signal.reason
    },
    outputFn: () => ({ body: 'never', contentType: 'text/plain' }),
  }`,
  // Ignores its signal and never settles (its timer is unref'd so the test can exit).
  stubborn: `export const handler = {
    modelFn: () => ({}),
    inputFn: () => ({}),
    predictFn: () => new Promise((resolve) => setTimeout(resolve, 60000).unref()),
    outputFn: () => ({ body: 'late', contentType: 'text/plain' }),
  }`,
  // modelFn finishes only when the test calls releaseModel.
  gated: `export const handler = {
    modelFn: () => new Promise((resolve) => {
      globalThis.__modelHostFixture = { ...globalThis.__modelHostFixture, releaseModel: () => resolve({}) }
    }),
    inputFn: () => ({}),
    predictFn: () => ({}),
    outputFn: () => ({ body: '{}', contentType: 'application/json' }),
  }`,
  'broken-model': `export const handler = {
    modelFn: () => { throw new Error('weights missing') },
    inputFn: () => ({}), predictFn: () => ({}), outputFn: () => ({ body: '', contentType: 'text/plain' }),
  }`,
  // A plain error whose detail must not reach the caller.
  crash: `export const handler = {
    modelFn: () => ({}),
    inputFn: () => ({}),
    predictFn: () => { throw new Error('secret detail') },
    outputFn: () => ({ body: '', contentType: 'text/plain' }),
  }`,
  // Its own HandlerError class (as a handler loaded from another copy of handler.ts would have).
  teapot: `class HandlerError extends Error {
    name = 'HandlerError'
    constructor(statusCode, message) { super(message); this.statusCode = statusCode }
  }
  export const handler = {
    modelFn: () => ({}),
    inputFn: () => { throw new HandlerError(422, 'the teapot refuses this input') },
    predictFn: () => ({}), outputFn: () => ({ body: '', contentType: 'text/plain' }),
  }`,
  'no-export': `export const somethingElse = 1`,
  // A multi-model handler: its model is <modelDir>/data.json; it answers with what reached it.
  artifact: `import { readFile } from 'node:fs/promises'
  import { join } from 'node:path'
  export const handler = {
    modelFn: async (modelDir, env) => ({ modelDir, env, data: JSON.parse(await readFile(join(modelDir, 'data.json'), 'utf8')) }),
    inputFn: async (body) => body.text(),
    predictFn: (text, model, ctx) => ({
      input: text, data: model.data, modelDir: model.modelDir, modelFnEnv: model.env, ctxEnv: ctx.env ?? null,
      targetModel: ctx.targetModel ?? null,
    }),
    outputFn: (p) => ({ body: JSON.stringify(p), contentType: 'application/json' }),
    unloadFn: (model) => globalThis.__modelHostFixture?.unloaded?.(model.modelDir),
  }`,
  // A multi-model handler whose invocations wait for the test (proceed); unloadFn reports itself.
  'artifact-gated': `export const handler = {
    modelFn: (modelDir) => ({ modelDir }),
    inputFn: () => ({}),
    predictFn: () => new Promise((resolve) => {
      globalThis.__modelHostFixture = { ...globalThis.__modelHostFixture, proceed: () => resolve({}) }
      globalThis.__modelHostFixture.started?.()
    }),
    outputFn: () => ({ body: 'done', contentType: 'text/plain' }),
    unloadFn: (model) => globalThis.__modelHostFixture?.unloaded?.(model.modelDir),
  }`,
  // Yields one chunk, then waits for the test (proceed) before the rest: proves chunks leave one by one.
  'stream-gated': `export const handler = {
    modelFn: () => ({}),
    inputFn: () => ({}),
    predictFn: () => ({}),
    outputFn: () => ({
      contentType: 'text/plain',
      stream: (async function* () {
        yield 'one\\n'
        await new Promise((resolve) => { globalThis.__modelHostFixture = { ...globalThis.__modelHostFixture, proceed: resolve } })
        yield Buffer.from('two\\n')
        yield ''
        yield 'three\\n'
      })(),
    }),
  }`,
  // One chunk, then the iterator fails.
  'stream-broken': `export const handler = {
    modelFn: () => ({}),
    inputFn: () => ({}),
    predictFn: () => ({}),
    outputFn: () => ({
      contentType: 'text/plain',
      stream: (async function* () {
        yield 'first\\n'
        await new Promise((resolve) => setImmediate(resolve))
        throw new Error('the model broke mid-answer')
      })(),
    }),
  }`,
  // Fails before its first chunk, with a status for the caller.
  'stream-fails-early': `class HandlerError extends Error {
    name = 'HandlerError'
    constructor(statusCode, message) { super(message); this.statusCode = statusCode }
  }
  export const handler = {
    modelFn: () => ({}),
    inputFn: () => ({}),
    predictFn: () => ({}),
    outputFn: () => ({
      contentType: 'text/plain',
      stream: (async function* () {
        throw new HandlerError(422, 'nothing to stream')
      })(),
    }),
  }`,
  // Up to 1024 chunks of 64 KiB, as fast as it is asked for them; reports progress, abort and close.
  'stream-endless': `export const handler = {
    modelFn: () => ({}),
    inputFn: () => ({}),
    predictFn: () => ({}),
    outputFn: (_p, _accept, ctx) => {
      ctx.signal.addEventListener('abort', () => globalThis.__modelHostFixture?.aborted?.(ctx.signal.reason), { once: true })
      return {
        contentType: 'application/octet-stream',
        stream: (async function* () {
          const chunk = Buffer.alloc(64 * 1024, 120)
          try {
            for (let i = 1; i <= 1024; i++) {
              yield chunk
              globalThis.__modelHostFixture?.produced?.(i)
            }
          } finally {
            globalThis.__modelHostFixture?.closed?.()
          }
        })(),
      }
    },
  }`,
}

/** Writes the fixture handlers under dir (a folder of its own: `type: module`). */
export async function writeFixtureHandlers(dir: string): Promise<string> {
  await writeFile(join(dir, 'package.json'), '{"type": "module"}')
  for (const [name, source] of Object.entries(HANDLERS)) {
    await mkdir(join(dir, name), { recursive: true })
    await writeFile(join(dir, name, 'index.js'), source)
  }
  return dir
}

/** A multi-model artifact's directory: model.json naming `handler`, plus data.json for `artifact`. */
export async function writeArtifact(dir: string, manifest: unknown, data?: unknown): Promise<string> {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'model.json'), typeof manifest === 'string' ? manifest : JSON.stringify(manifest))
  if (data !== undefined) await writeFile(join(dir, 'data.json'), JSON.stringify(data))
  return dir
}

export async function listFiles(dir: string): Promise<string[]> {
  return readdir(dir)
}

/** Polls until check() is true or waitMs passes; returns the last result (tests assert on it). */
export async function eventually(check: () => Promise<boolean> | boolean, waitMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + waitMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(25)
  }
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A POST over node:http, so the raw headers (Content-Length vs chunked) are visible. */
export function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Length': String(Buffer.byteLength(body)), ...headers } })
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.end(body)
  })
}

export interface StreamedResponse {
  status: number
  headers: IncomingHttpHeaders
  /** One entry per 'data' event, in arrival order. */
  chunks: Buffer[]
  /** True only when the body ended properly (the terminating chunk arrived). */
  complete: boolean
  /** An 'aborted' or 'error' event was seen on the response. */
  aborted: boolean
}

/**
 * A POST over node:http that records each 'data' event as it arrives; `onData` sees every chunk
 * (to gate the server or to hang up). Resolves when the response closes, whether it ended or not.
 */
export function streamPost(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  onData?: (chunk: Buffer, res: IncomingMessage, req: ClientRequest) => void,
): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'Content-Length': String(Buffer.byteLength(body)), ...headers } })
    let responded = false
    // After the response has started, a broken connection is reported on the response instead.
    req.on('error', (err) => {
      if (!responded) reject(err)
    })
    req.on('response', (res) => {
      responded = true
      const result: StreamedResponse = { status: res.statusCode ?? 0, headers: res.headers, chunks: [], complete: false, aborted: false }
      res.on('data', (chunk: Buffer) => {
        result.chunks.push(chunk)
        onData?.(chunk, res, req)
      })
      res.on('aborted', () => (result.aborted = true))
      res.on('error', () => (result.aborted = true))
      res.on('close', () => resolve({ ...result, complete: res.complete }))
    })
    req.end(body)
  })
}
