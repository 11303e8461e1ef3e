/**
 * The ceiling for status polls on this machine: a Fastify server with one route that sends a fixed
 * JSON text (a completed job's view) and does nothing else — no hooks, no logging, no validation.
 * bench:burst runs it in its own process (as the gateway runs) and polls it with the same client
 * and concurrency as the gateway, in the same round. Started with fork(); sends its port when ready.
 */
import Fastify from 'fastify'

const text = process.env.BARE_BODY ?? '{}'
const app = Fastify({ logger: false })
app.get('/jobs/:id', (_request, reply) => {
  void reply.type('application/json; charset=utf-8').send(text)
})
await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
process.send?.(typeof address === 'object' && address !== null ? address.port : 0)
process.on('disconnect', () => void app.close().then(() => process.exit(0)))
