import pino, { type Logger } from 'pino'
import { buildApp } from '../../src/app.js'
import { loadConfig, parseModels, type Config } from '../../src/config.js'
import { FakeRuntime, MemoryStore } from './fakes.js'

export const testModels = parseModels({
  video: { mode: 'async', endpointName: 'video-ep', contentTypes: ['video/mp4', 'video/webm'], maxBytes: 1024 * 1024 },
  text: { mode: 'async', endpointName: 'text-ep', contentTypes: ['text/plain', 'application/json'], maxBytes: 1000, ttlSeconds: 60, invocationTimeoutSeconds: 10 },
  classify: { mode: 'realtime', endpointName: 'mme-ep', targetModel: 'classify.tar.gz', maxBytes: 1000, coldStartWaitMs: 2000 },
  live: { mode: 'realtime', endpointName: 'live-ep', contentTypes: ['text/plain'], streaming: true },
})

/** The app with in-memory fakes of its own ports, for route tests of the gateway's logic. */
export async function buildTestApp(options: { clock?: () => number; logger?: Logger; configure?: (config: Config) => Config } = {}) {
  const { configure = (c: Config) => c, ...overrides } = options
  const config = configure({ ...loadConfig({ SAGEGATE_BUCKET: 'test-bucket', SAGEGATE_ANONYMOUS: 'true' }), models: testModels })
  const store = new MemoryStore()
  const runtime = new FakeRuntime()
  const app = await buildApp(config, { store, runtime, logger: pino({ level: 'silent' }), ...overrides })
  return { app, store, runtime, config }
}

/** A few bytes that start like an mp4 file (an ftyp box). */
export const mp4Head = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(64, 7)])
