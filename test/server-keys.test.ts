import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { KEYS, sha256Hex } from './helpers/auth.js'
import { listeningUrl, spawnServer } from './helpers/server-process.js'
import { eventually } from './helpers/upload-client.js'

const keysFile = (keys: Array<{ id: string; key: string }>) =>
  `auth:\n  keys:\n${keys.map((k) => `    - id: ${k.id}\n      tenant: ${k.id}\n      sha256: "${sha256Hex(k.key)}"\n`).join('')}`

t.test('npm start with a file of keys only: the local models, keys required, rotated on SIGHUP', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-keys-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const config = join(dataDir, 'sagegate.yaml')
  await writeFile(config, keysFile([{ id: 'acme', key: KEYS.acmeWeb }]))
  const child = spawnServer({ SAGEGATE_DATA_DIR: join(dataDir, 'data'), SAGEGATE_CONFIG: config, PORT: '0', LOG_LEVEL: 'info' })
  t.teardown(() => void child.kill('SIGKILL'))
  const url = await listeningUrl(child)
  t.ok(url)
  const status = async (key: string) => (await fetch(`${url}/models`, { headers: { authorization: `Bearer ${key}` } })).status

  t.equal((await fetch(`${url}/models`)).status, 401)
  const models = (await (await fetch(`${url}/models`, { headers: { authorization: `Bearer ${KEYS.acmeWeb}` } })).json()) as { models: unknown[] }
  t.equal(models.models.length, 6, "a file naming no models keeps the local stack's models")

  // Rotation: the new key works and the old one stops, without a restart.
  await writeFile(config, keysFile([{ id: 'globex', key: KEYS.globex }]))
  child.kill('SIGHUP')
  await eventually('the new key is accepted', async () => (await status(KEYS.globex)) === 200)
  t.equal(await status(KEYS.acmeWeb), 401, 'the old key is refused')

  // A broken file, or one with no keys left, changes nothing.
  for (const text of ['auth:\n  keys:\n    - id: x\n      sha256: nope\n', 'auth:\n  keys: []\n']) {
    await writeFile(config, text)
    child.kill('SIGHUP')
    await new Promise((r) => setTimeout(r, 300))
    t.equal(await status(KEYS.globex), 200, 'the current keys stay')
    t.equal((await fetch(`${url}/models`)).status, 401, 'still closed')
  }
  child.kill('SIGTERM')
  t.equal(((await once(child, 'exit')) as [number | null])[0], 0)
})
