import t from 'tap'
import { matchesSignature } from '../../src/lib/sniff.js'

const box = (type: string) => Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from(type, 'latin1'), Buffer.alloc(4)])

t.test('ISO BMFF and EBML signatures', async (t) => {
  t.equal(matchesSignature('video/mp4', box('ftyp')), true)
  t.equal(matchesSignature('video/quicktime', box('moov')), true)
  t.equal(matchesSignature('video/mp4', box('abcd')), false)
  t.equal(matchesSignature('video/mp4', Buffer.from('ftyp')), false, 'too short')
  t.equal(matchesSignature('video/webm', Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 1, 2])), true)
  t.equal(matchesSignature('video/webm', box('ftyp')), false)
})

t.test('types without a known signature are not judged', async (t) => {
  t.equal(matchesSignature('text/plain', Buffer.from('hello')), undefined)
})
