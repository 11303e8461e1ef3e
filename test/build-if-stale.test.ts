import { execFileSync } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const script = fileURLToPath(new URL('../src/build-if-stale.mjs', import.meta.url))

t.test("npm start's build step runs tsc only when a source is newer than the last build", async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'sagegate-build-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await mkdir(join(root, 'src'), { recursive: true })
  await mkdir(join(root, 'handlers'), { recursive: true })
  await mkdir(join(root, 'dist'), { recursive: true })
  await mkdir(join(root, 'node_modules/typescript/bin'), { recursive: true })
  await copyFile(script, join(root, 'src/build-if-stale.mjs'))
  await writeFile(join(root, 'src/app.ts'), 'export {}\n')
  // A stand-in for tsc that counts its runs.
  await writeFile(join(root, 'node_modules/typescript/bin/tsc'), `require('node:fs').appendFileSync(${JSON.stringify(join(root, 'runs'))}, 'x')\n`)
  const start = () => execFileSync(process.execPath, [join(root, 'src/build-if-stale.mjs')])
  const runs = async () => (await readFile(join(root, 'runs'), 'utf8').catch(() => '')).length

  start()
  t.equal(await runs(), 1, 'a fresh clone builds')
  start()
  t.equal(await runs(), 1, 'unchanged sources: no build')
  // The last build 10 s ago, a source edited since.
  const [built, edited] = [new Date(Date.now() - 10_000), new Date(Date.now() - 5000)]
  await utimes(join(root, 'dist/.start-stamp'), built, built)
  await utimes(join(root, 'src/app.ts'), edited, edited)
  start()
  t.equal(await runs(), 2, 'a changed source builds again')
  start()
  t.equal(await runs(), 2)
})
