import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LOCAL_BUCKET } from '../../src/local/defaults.js'
import type { LocalStack } from '../../src/local/stack.js'

const root = fileURLToPath(new URL('../../../', import.meta.url)) // dist/test/bench → repo root

/** The environment of a gateway process in front of the local stack (as AWS), with a configuration file. */
export function localStackEnv(stack: LocalStack, configPath: string): Record<string, string> {
  return {
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    SAGEGATE_BUCKET: LOCAL_BUCKET,
    SAGEGATE_S3_ENDPOINT: stack.s3.endpoint,
    SAGEGATE_SAGEMAKER_ENDPOINT: stack.sagemaker.endpoint,
    SAGEGATE_CONFIG: configPath,
    SAGEGATE_LOCAL: 'false',
    LOG_LEVEL: 'fatal',
  }
}

/** The built gateway (dist/src/server.js) in its own process, on a random port; resolves once it answers. */
export async function startGatewayProcess(env: Record<string, string>, nodeArgs: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist/src/server.js')], {
    env: { ...process.env, PORT: String(port), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', SAGEGATE_ANONYMOUS: 'true', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, child }
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  child.kill('SIGKILL')
  throw new Error('gateway did not start')
}
