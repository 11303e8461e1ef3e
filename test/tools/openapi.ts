import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import { specYaml } from '../../src/api/openapi.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { FakeRuntime, MemoryStore } from '../helpers/fakes.js'

/**
 * openapi.yaml as the routes describe it, from an app with the default configuration (metrics open,
 * anonymous access so that no keys file is needed) and in-memory dependencies.
 * `npm run openapi` writes it; test/openapi.test.ts fails when the committed file differs.
 */
export async function generateOpenapi(): Promise<string> {
  const app = await buildApp(loadConfig({ SAGEGATE_BUCKET: 'openapi-bucket', SAGEGATE_ANONYMOUS: 'true' }), {
    store: new MemoryStore(),
    runtime: new FakeRuntime(),
    logger: pino({ level: 'silent' }),
  })
  try {
    await app.ready()
    return specYaml(app)
  } finally {
    await app.close()
  }
}

export const SPEC_PATH = new URL('../../openapi.yaml', import.meta.url)

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Run from dist/test/tools: openapi.yaml is two levels further up.
  const target = new URL('../../../openapi.yaml', import.meta.url)
  await writeFile(target, await generateOpenapi())
  console.log(`wrote ${fileURLToPath(target)}`)
}
