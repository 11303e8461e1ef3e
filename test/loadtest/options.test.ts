import t from 'tap'
import { HELP, parseOptions } from '../../src/loadtest/options.js'

const errorsOf = (argv: string[]) => {
  const r = parseOptions(argv)
  return r.kind === 'error' ? r.errors : []
}

t.test('defaults: the local gateway, predict, concurrency 1, 10 s, a 1 KiB body', async (t) => {
  const r = parseOptions(['--model', 'echo'])
  t.equal(r.kind, 'ok')
  if (r.kind !== 'ok') return
  t.match(r.options, { url: 'http://127.0.0.1:3000', model: 'echo', mode: 'predict', concurrency: [1], durationSeconds: 10, sizeBytes: 1024, warmupSeconds: 1, direct: false, json: false, localJson: '.data/local.json' })
  t.notOk('requests' in r.options)
})

t.test('a full command line', async (t) => {
  const r = parseOptions([
    '--url=http://gw:8080/', '--model', 'summarize', '--mode', 'jobs', '--concurrency', '1,4,16', '--requests', '1000',
    '--size', '2048', '--content-type', 'text/plain', '--price-per-hour', '1.2', '--api-key', 'k', '--json',
  ])
  t.equal(r.kind, 'ok')
  if (r.kind !== 'ok') return
  t.match(r.options, { url: 'http://gw:8080', mode: 'jobs', concurrency: [1, 4, 16], requests: 1000, sizeBytes: 2048, contentType: 'text/plain', pricePerHour: 1.2, apiKey: 'k', json: true })
  t.notOk('durationSeconds' in r.options)
})

t.test('every bad option is named at once', async (t) => {
  const errors = errorsOf(['--url', 'ftp://x', '--mode', 'batch', '--concurrency', '1,0,x', '--duration', '-3', '--price-per-hour', 'cheap', '--bogus', 'stray'])
  for (const name of ['--url', '--mode', '--concurrency', '--duration', '--price-per-hour', '--bogus', '--model'])
    t.ok(errors.some((e) => e.startsWith(name)), `${name} reported`)
  t.ok(errors.some((e) => e.includes('"stray"')), 'a stray argument reported')
})

t.test('options that cannot go together', async (t) => {
  const errors = errorsOf(['--model', 'm', '--duration', '5', '--requests', '10', '--body', 'f.json', '--size', '10', '--mode', 'jobs', '--direct'])
  t.equal(errors.length, 3, errors.join('; '))
  t.ok(errors.some((e) => e.startsWith('--requests')))
  t.ok(errors.some((e) => e.startsWith('--size')))
  t.ok(errors.some((e) => e.startsWith('--direct')))
})

t.test('an option missing its value, or a flag given one', async (t) => {
  const errors = errorsOf(['--json=yes', '--model', '--url'])
  t.equal(errors.length, 3, errors.join('; '))
  t.ok(errors.includes('--model: needs a value'))
  t.ok(errors.includes('--url: needs a value'))
  t.ok(errors.includes('--json: takes no value'))
})

t.test('--help wins over everything else', async (t) => {
  t.same(parseOptions(['--bogus', '--help']), { kind: 'help' })
  for (const option of ['--url', '--model', '--mode', '--concurrency', '--duration', '--requests', '--body', '--size', '--price-per-hour', '--direct', '--json'])
    t.ok(HELP.includes(option), `${option} documented`)
})
