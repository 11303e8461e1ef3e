import type { LookupAddress } from 'node:dns'
import t from 'tap'
import { createHostPolicy, isInternalAddress } from '../../src/lib/ssrf.js'

t.test('internal addresses: private, loopback, link-local, unique-local, CGNAT, metadata, mapped', async (t) => {
  for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '100.100.100.200', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1', 'not-an-ip']) {
    t.ok(isInternalAddress(ip), ip)
  }
  for (const ip of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) t.notOk(isInternalAddress(ip), ip)
})

/** A resolver that answers every name with `addresses`. */
const answering =
  (...addresses: string[]) =>
  (_host: string, _o: unknown, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) =>
    cb(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })))

function lookup(policy: ReturnType<typeof createHostPolicy>, host: string, all: boolean) {
  return new Promise<{ err: (Error & { code?: string }) | null; address: unknown; family?: number }>((resolve) =>
    policy.lookup(host, { all }, (err, address, family) => resolve({ err, address, family })),
  )
}

t.test('connection-time lookup: a wildcard-allowed name resolving inside is refused (DNS rebinding)', async (t) => {
  const policy = createHostPolicy(['*.example.com'], answering('10.0.0.7'))
  const r = await lookup(policy, 'hooks.example.com', false)
  t.equal(r.err?.code, 'EADDRNOTALLOWED')
})

t.test('connection-time lookup: one internal answer among public ones refuses the name', async (t) => {
  const policy = createHostPolicy(['*.example.com'], answering('93.184.216.34', '127.0.0.1'))
  t.equal((await lookup(policy, 'a.example.com', true)).err?.code, 'EADDRNOTALLOWED')
})

t.test('connection-time lookup: an internal address is reached when the exact hostname or IP is listed', async (t) => {
  const byName = createHostPolicy(['hooks.internal.test'], answering('10.0.0.7'))
  t.same(await lookup(byName, 'hooks.internal.test', false), { err: null, address: '10.0.0.7', family: 4 })
  const byIp = createHostPolicy(['*.internal.test', '10.0.0.7'], answering('10.0.0.7'))
  t.equal((await lookup(byIp, 'a.internal.test', false)).err, null)
})

t.test('connection-time lookup: public answers pass through, in the shape asked for', async (t) => {
  const policy = createHostPolicy(['*.example.com'], answering('93.184.216.34', '2606:2800:220:1::1'))
  t.same(await lookup(policy, 'a.example.com', false), { err: null, address: '93.184.216.34', family: 4 })
  const all = await lookup(policy, 'a.example.com', true)
  t.same(all.address, [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1::1', family: 6 },
  ])
})

t.test('connection-time lookup: a DNS error is passed on', async (t) => {
  const policy = createHostPolicy(['*.example.com'], (_h, _o, cb) => cb(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }), []))
  t.equal((await lookup(policy, 'a.example.com', false)).err?.code, 'ENOTFOUND')
})
