import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { eventually } from '../helpers/upload-client.js'

const serverEntry = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

export interface Server {
  child: ChildProcess
  url: string
  exit: Promise<number | null>
}

/** `npm start` as a process of its own (the local stack in child processes), on `dataDir`. */
export async function startServer(dataDir: string, drainTimeoutMs = 1500): Promise<Server> {
  const child = spawn(process.execPath, [...process.execArgv, serverEntry], {
    env: { ...process.env, SAGEGATE_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', SAGEGATE_DRAIN_TIMEOUT_MS: String(drainTimeoutMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  const lines = createInterface({ input: child.stdout! })
  let url: string | undefined
  for await (const line of lines) {
    const m = /sagegate listening on (http:\/\/[^"\s]+)/.exec(line)
    if (m) {
      url = m[1]
      break
    }
  }
  child.stdout!.resume()
  if (url === undefined) throw new Error('the server did not start')
  return { child, url, exit }
}

export const inFlight = (url: string, n: number) =>
  eventually(`${n} uploads in flight`, async () => new RegExp(`sagegate_uploads_in_flight ${n}\\b`).test(await (await fetch(`${url}/metrics`)).text()))

