import type { Test } from 'tap'
import type { Config } from '../../src/config.js'
import { holdingContainer } from './holding-container.js'
import { startTestStack } from './stack.js'

/**
 * The local stack with one async model, `held`, whose container holds every invocation until
 * released. Without SNS a watched job is checked every 100 to 300 ms, so an end is seen well within a
 * second; with it (`sns`), the local SNS tells the gateway.
 */
export async function heldStack(t: Test, options: { sns?: boolean; maxBytes?: number; configure?: (c: Config) => Config } = {}) {
  const container = await holdingContainer(t)
  const it = await startTestStack(t, {
    ...(options.sns === true ? { sns: true } : {}),
    endpoints: [{ name: 'held-async', mode: 'async', handler: 'summarize', containerUrl: container.url, maxConcurrentInvocationsPerInstance: 4, instanceCount: 1 }],
    models: { held: { mode: 'async', endpointName: 'held-async', contentTypes: ['text/plain'], maxBytes: options.maxBytes ?? 1024 } },
    configure: (c) => {
      const waits = { ...c.waits, heartbeatMs: 1000, ...(options.sns === true ? {} : { minPollIntervalMs: 100, maxPollIntervalMs: 300 }) }
      const configured = { ...c, waits }
      return options.configure ? options.configure(configured) : configured
    },
  })
  /** Submits a job and waits until the container holds its invocation. */
  const submit = async (text: string, headers: Record<string, string> = {}) => {
    const arrival = container.nextArrival()
    const res = await fetch(`${it.baseUrl}/models/held/jobs`, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: text })
    t.equal(res.status, 202)
    const id = ((await res.json()) as { id: string }).id
    await arrival
    return id
  }
  return { it, container, submit }
}

/** Whether `p` settles within `ms` (it is left running either way). */
export const settledWithin = async <T>(p: Promise<T>, ms: number): Promise<boolean> =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])

/** Reads an SSE stream to its end (rejects if it is cut rather than ended): the events (id, event, data) and the whole text. */
export async function readEvents(res: Response) {
  const text = await res.text()
  const events = text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)])))
  return { text, events: events as Array<{ id: string; event: string; data: string }> }
}
