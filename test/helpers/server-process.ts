import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { AWS_COMPUTE_VARIABLES } from '../../src/config.js'
import { eventually } from './upload-client.js'

const serverEntry = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

/**
 * src/server.ts in a process of its own, under this test's loader (as `npm start` runs the built JS).
 * Without the variables of AWS compute the tests may run on (CodeBuild, a runner on EKS): with them
 * the gateway refuses to start the local stack these tests are about.
 */
export function spawnServer(env: Record<string, string>, stderr: 'pipe' | 'inherit' = 'pipe', detached = false): ChildProcess {
  const inherited: NodeJS.ProcessEnv = { ...process.env }
  for (const name of AWS_COMPUTE_VARIABLES) delete inherited[name]
  return spawn(process.execPath, [...process.execArgv, serverEntry], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', stderr], detached })
}

/** Reads the server's log until it says where it listens (undefined if it exits first); its output keeps flowing. */
export async function listeningUrl(child: ChildProcess): Promise<string | undefined> {
  return (await listeningLine(child))?.url
}

/** The start banner: the URL and the log line (JSON) that announced it. */
export async function listeningLine(child: ChildProcess): Promise<{ url: string; line: Record<string, unknown> } | undefined> {
  let found: { url: string; line: Record<string, unknown> } | undefined
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /sagegate listening on (http:\/\/[^"\s]+)/.exec(line)?.[1]
    if (url !== undefined) {
      found = { url, line: JSON.parse(line) as Record<string, unknown> }
      break
    }
  }
  // Leaving the loop closed the reader, which paused the stream: a full pipe would block the server.
  child.stdout!.resume()
  return found
}

export interface Server {
  child: ChildProcess
  url: string
  exit: Promise<number | null>
}

/**
 * `npm start` on `dataDir` (the local stack in child processes), with the given drain deadline;
 * `ownGroup` starts it in a process group of its own, which a signal can then reach as a whole.
 */
export async function startServer(dataDir: string, drainTimeoutMs = 1500, ownGroup = false): Promise<Server> {
  const env = { SAGEGATE_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', SAGEGATE_DRAIN_TIMEOUT_MS: String(drainTimeoutMs) }
  const child = spawnServer(env, 'inherit', ownGroup)
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  const url = await listeningUrl(child)
  if (url === undefined) throw new Error('the server did not start')
  return { child, url, exit }
}

/** Waits until the gateway reports `n` uploads in flight. */
export const inFlight = (url: string, n: number) =>
  eventually(`${n} uploads in flight`, async () => new RegExp(`sagegate_uploads_in_flight ${n}\\b`).test(await (await fetch(`${url}/metrics`)).text()))
