import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import t from 'tap'
import { limitBody, peek } from '../../src/lib/streams.js'

t.test('peek reads the head and leaves the whole stream', async (t) => {
  const s = Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('efgh')], { objectMode: false })
  const { head, body } = await peek(s, 5)
  t.equal(head.toString().slice(0, 5), 'abcde')
  t.equal(await text(body), 'abcdefgh')
})

t.test('peek on a stream shorter than asked still hands on every byte', async (t) => {
  const { head, body } = await peek(Readable.from([Buffer.from('ab')]), 12)
  t.equal(head.toString(), 'ab')
  t.equal(await text(body), 'ab')
  const empty = await peek(Readable.from([]), 12)
  t.equal(empty.head.length, 0)
  t.equal(await text(empty.body), '')
})

t.test('limitBody passes bytes under the limit and counts them', async (t) => {
  const limited = limitBody(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), 20, () => new Error('too big'))
  t.equal((await text(limited)).length, 20)
  t.equal(limited.bytes, 20)
})

t.test('limitBody fails at the first byte over, without destroying the source', async (t) => {
  const source = Readable.from([Buffer.alloc(10), Buffer.alloc(10), Buffer.alloc(10)])
  const limited = limitBody(source, 15, () => new Error('too big'))
  await t.rejects(text(limited), /too big/)
  t.equal(source.destroyed, false)
})

t.test('limitBody fails when the source fails', async (t) => {
  const source = new Readable({ read() {} })
  const limited = limitBody(source, 100, () => new Error('too big'))
  const done = text(limited)
  source.destroy(new Error('client gone'))
  await t.rejects(done, /client gone/)
})

t.test('a source closed before its end fails peek and limitBody instead of hanging', async (t) => {
  const early = new Readable({ read() {} })
  const peeking = peek(early, 12)
  early.push(Buffer.from('abc'))
  setImmediate(() => early.destroy())
  await t.rejects(peeking, { code: 'ERR_STREAM_PREMATURE_CLOSE' })

  const source = new Readable({ read() {} })
  const limited = limitBody(source, 100, () => new Error('too big'))
  const done = text(limited)
  source.push(Buffer.from('abc'))
  setImmediate(() => source.destroy())
  await t.rejects(done, { code: 'ERR_STREAM_PREMATURE_CLOSE' })
})
