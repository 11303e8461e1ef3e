import { S3Client } from '@aws-sdk/client-s3'
import { readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { Test } from 'tap'
import { startLocalS3, type LocalS3Server } from '../../../src/local/s3/server.js'

export const CREDENTIALS = { accessKeyId: 'AKIDLOCALS3TEST', secretAccessKey: 'local-s3-test-secret' }
export const BUCKET = 'test-bucket'
export const REGION = 'us-east-1'

export interface S3Fixture {
  server: LocalS3Server
  client: S3Client
  dataDir: string
}

export function makeClient(url: string, credentials = CREDENTIALS): S3Client {
  return new S3Client({ endpoint: url, region: REGION, forcePathStyle: true, credentials })
}

/** Starts the local S3 server in a fresh temp dir with one bucket, and an SDK client aimed at it. */
export async function startS3(t: Test): Promise<S3Fixture> {
  const dataDir = t.testdir()
  const server = await startLocalS3({ dataDir, credentials: CREDENTIALS, buckets: [BUCKET] })
  t.teardown(() => server.close())
  const client = makeClient(server.url)
  t.teardown(() => client.destroy())
  return { server, client, dataDir }
}

/** Every file under dir (relative paths), for asserting what an operation left on disk. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    // The server may remove a folder while we walk it (an abort in progress): that folder is empty.
    const entries = await readdir(d, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return []
      throw err
    })
    for (const e of entries) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else out.push(relative(dir, p))
    }
  }
  await walk(dir)
  return out.sort()
}

/** Data files that hold object or part bytes (not metadata). */
export async function dataFiles(dataDir: string): Promise<string[]> {
  return (await listFiles(dataDir)).filter((f) => f.startsWith('tmp/') || /\/data\//.test(f) || (/\/uploads\//.test(f) && !f.endsWith('.json')))
}

export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; Code?: string }> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected the call to fail')
}
