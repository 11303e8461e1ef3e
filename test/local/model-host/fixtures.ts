// Test-only handlers written as plain ESM into a temp handlers folder, plus small HTTP helpers.
import { readdir, writeFile, mkdir } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Hooks the fixture handlers call, so a test can see (and gate) what happens inside the host. */
export interface FixtureHooks {
  started?: () => void
  aborted?: (reason: unknown) => void
  releaseModel?: () => void
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
