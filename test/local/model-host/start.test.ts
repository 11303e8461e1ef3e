import { connect } from 'node:net'
import t from 'tap'
import { startModelHost } from '../../../src/local/model-host/host.js'
import { writeFixtureHandlers } from './fixtures.js'

t.test('an unknown handler rejects startModelHost with a clear error', async (t) => {
  await t.rejects(startModelHost({ containers: [{ name: 'x', handler: 'no-such-handler' }] }), {
    message: /unknown handler "no-such-handler"/,
  })
})

t.test('a handler name that would leave handlersDir is refused', async (t) => {
  await t.rejects(startModelHost({ containers: [{ name: 'x', handler: '../src' }] }), {
    message: /invalid handler name/,
  })
})

t.test('a module without a `handler` export is refused', async (t) => {
  const handlersDir = await writeFixtureHandlers(t.testdir())
  await t.rejects(startModelHost({ handlersDir, containers: [{ name: 'x', handler: 'no-export' }] }), {
    message: /must export `handler`/,
  })
})

t.test('duplicate container names and an empty container list are refused', async (t) => {
  await t.rejects(startModelHost({ containers: [] }), { message: /at least one container/ })
  await t.rejects(
    startModelHost({
      containers: [
        { name: 'a', handler: 'summarize' },
        { name: 'a', handler: 'summarize' },
      ],
    }),
    { message: /duplicate container name "a"/ },
  )
})

t.test('close() really closes the port', async (t) => {
  const host = await startModelHost({ containers: [{ name: 'text', handler: 'summarize' }] })
  const port = Number(new URL(host.containers[0]!.url).port)
  await host.close()
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
  t.ok(refused, 'connecting after close fails')
})
