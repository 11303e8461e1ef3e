import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

/** Debian's chromium (`apt-get install -y chromium`; .ci/run installs it when missing), or undefined. */
export const chromiumPath = (): string | undefined =>
  [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => p !== undefined && p !== '' && existsSync(p))

/**
 * The DOM of `url` after its scripts ran (headless Chromium, `--dump-dom`, a virtual-time budget so
 * that timers and fetches settle), in a throwaway profile.
 */
export async function dumpDom(url: string, budgetMs = 10_000): Promise<string> {
  const chromium = chromiumPath()
  if (chromium === undefined) throw new Error('chromium is not installed')
  const profile = await mkdtemp(join(tmpdir(), 'sagegate-chromium-'))
  try {
    const { stdout } = await promisify(execFile)(
      chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${profile}`, `--virtual-time-budget=${budgetMs}`, '--dump-dom', url],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    )
    return stdout
  } finally {
    await rm(profile, { recursive: true, force: true })
  }
}
