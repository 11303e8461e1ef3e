import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The directory the gateway is installed in (the repository, or /app in the Docker image): the
 * first one above this file that holds package.json and node_modules. Found the same way whether
 * the code runs from src/ (tests) or dist/src/ (npm start).
 */
export function appRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules')))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the directory holding package.json and node_modules above the gateway')
    dir = parent
  }
  return dir
}

/** The gateway's version, from its package.json. */
export const packageVersion = (): string => (JSON.parse(readFileSync(join(appRoot(), 'package.json'), 'utf8')) as { version: string }).version
