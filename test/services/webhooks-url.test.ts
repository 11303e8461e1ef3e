import t from 'tap'
import { createWebhooks } from '../../src/services/webhooks.js'
import { MemoryStore } from '../helpers/fakes.js'
import { silent, webhookConfig } from './webhooks-fixtures.js'

function checkUrl(allowedHosts: string[]) {
  const w = createWebhooks({
    store: new MemoryStore(),
    storage: { bucket: 'b', prefix: 'p/' },
    config: webhookConfig({ allowedHosts }),
    maxPollIntervalMs: 5_000,
    logger: silent,
    checkJob: async () => undefined,
  })
  return w.checkUrl
}
const refused = { code: 'webhook_not_allowed', statusCode: 400 }

t.test('an exact host is allowed, whatever the port, path or case', async (t) => {
  const check = checkUrl(['hooks.example.com'])
  t.equal(check('https://hooks.example.com/a?b=1'), 'https://hooks.example.com/a?b=1')
  t.equal(check('http://HOOKS.example.com:8443/x'), 'http://hooks.example.com:8443/x')
  t.ok(check('https://hooks.example.com./x'), 'a trailing dot is the same name')
  t.throws(() => check('https://other.example.com/'), refused)
  t.throws(() => check('https://hooks.example.com.evil.test/'), refused)
  t.throws(() => check('https://evilhooks.example.com/'), refused)
})

t.test('a wildcard allows any subdomain, not the apex', async (t) => {
  const check = checkUrl(['*.example.com'])
  t.ok(check('https://a.example.com/'))
  t.ok(check('https://a.b.example.com:444/'))
  t.throws(() => check('https://example.com/'), refused)
  t.throws(() => check('https://notexample.com/'), refused)
  t.throws(() => check('https://a.example.com.evil.test/'), refused)
})

t.test('IP literals: allowed only when that exact IP is listed, in any spelling', async (t) => {
  const check = checkUrl(['*.example.com', '127.0.0.1', '::1', '93.184.216.34'])
  t.ok(check('http://127.0.0.1:9000/hook'))
  t.ok(check('http://[::1]:9000/hook'))
  t.ok(check('http://[0:0::1]/hook'), 'another spelling of ::1')
  t.ok(check('https://93.184.216.34/'))
  t.ok(check('http://2130706433/'), '127.0.0.1 as one number is still 127.0.0.1')
  const strict = checkUrl(['*.example.com'])
  for (const url of ['http://127.0.0.1/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data/', 'http://100.64.0.1/', 'http://[fd00:ec2::254]/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0x7f.1/', 'http://8.8.8.8/']) {
    t.throws(() => strict(url), refused, url)
  }
})

t.test('refused: credentials, other schemes, relative URLs, and everything when no host is listed', async (t) => {
  const check = checkUrl(['hooks.example.com'])
  t.throws(() => check('https://user:pw@hooks.example.com/'), refused)
  t.throws(() => check('https://user@hooks.example.com/'), refused)
  for (const url of ['ftp://hooks.example.com/', 'file:///etc/passwd', 'javascript:alert(1)', 'ws://hooks.example.com/', '/relative', 'hooks.example.com/x', '']) {
    t.throws(() => check(url), refused, url)
  }
  t.throws(() => checkUrl([])('https://hooks.example.com/'), { ...refused, details: { reason: 'this gateway has no allowed webhook hosts' } })
})
