import t from 'tap'
import { createDependencyMonitor } from '../../src/services/dependency-monitor.js'

t.test('reports each dependency, and tells of a change once, not at every check', async (t) => {
  let up = true
  const changes: string[] = []
  const monitor = createDependencyMonitor({
    probes: { storage: async () => (up ? undefined : Promise.reject(new Error('down'))) },
    intervalMs: 60_000,
    timeoutMs: 1000,
    onChange: (name, state) => changes.push(`${name}:${state}`),
  })
  t.same(monitor.snapshot(), { storage: 'unknown' })
  await monitor.check()
  t.same(monitor.snapshot(), { storage: 'ok' })
  up = false
  await monitor.check()
  await monitor.check()
  t.same(monitor.snapshot(), { storage: 'unreachable' })
  up = true
  await monitor.check()
  t.same(changes, ['storage:unreachable', 'storage:ok'])
})
