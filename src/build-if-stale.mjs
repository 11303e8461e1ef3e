// `npm start`'s build step: compiles src/ and handlers/ only when a source, a tsconfig or the
// lockfile is newer than the last build, so a second start with unchanged sources skips tsc
// entirely (tsc alone takes 15-25 s here). Plain JavaScript: it runs before anything is compiled.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
// Written after each successful build (tsc leaves its own build info untouched when nothing changed).
const stamp = join(root, 'dist/.start-stamp')

function newest(path) {
  const info = statSync(path, { throwIfNoEntry: false })
  if (info === undefined) return 0
  if (!info.isDirectory()) return info.mtimeMs
  let latest = info.mtimeMs
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)))
  return latest
}

const built = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs ?? 0
const sources = Math.max(...['src', 'handlers', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((p) => newest(join(root, p))))
if (sources > built) {
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
  if (result.status !== 0) process.exit(result.status ?? 1)
  writeFileSync(stamp, `${new Date().toISOString()}\n`)
}
