import { X509Certificate } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createSigningCertificate, loadOrCreateSigningCertificate } from '../../../src/local/sns/certificate.js'
import { objectIdentifier, time } from '../../../src/local/sns/der.js'

t.test('a self-signed X.509 v3 certificate that Node reads and verifies', async (t) => {
  const now = Date.UTC(2026, 10, 29, 12, 0, 0)
  const { certificatePem, privateKey } = createSigningCertificate(now)
  const cert = new X509Certificate(certificatePem)
  t.equal(cert.subject, 'CN=sns.local.sagegate')
  t.equal(cert.issuer, cert.subject)
  t.ok(cert.checkPrivateKey(privateKey))
  t.ok(cert.verify(cert.publicKey), 'signed by its own key')
  t.equal(Date.parse(cert.validFrom), now - 24 * 3600 * 1000)
  t.ok(Date.parse(cert.validTo) > now + 9 * 365 * 24 * 3600 * 1000)
})

t.test('DER pieces: OIDs in base 128, UTCTime before 2050 and GeneralizedTime after', async (t) => {
  t.same([...objectIdentifier('1.2.840.113549.1.1.11')], [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b])
  t.equal(time(Date.UTC(2026, 0, 2, 3, 4, 5)).subarray(2).toString(), '260102030405Z')
  t.equal(time(Date.UTC(2051, 0, 2, 3, 4, 5))[0], 0x18)
})

t.test('kept in the state dir and reused after a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sagegate-sns-cert-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const first = await loadOrCreateSigningCertificate(dir)
  const again = await loadOrCreateSigningCertificate(dir)
  t.equal(again.certificatePem, first.certificatePem)
  t.equal((await stat(join(dir, 'signing-key.pem'))).mode & 0o777, 0o600)
})
