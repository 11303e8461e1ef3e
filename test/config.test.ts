import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults: the local stack when nothing points at AWS', async (t) => {
  const c = loadConfig({})
  t.equal(c.local.enabled, true)
  t.equal(c.server.port, 3000)
  t.equal(c.upload.partSizeBytes, 8 * 1024 * 1024)
  t.same(c.models, {})
})

t.test('a bucket means AWS mode unless the local stack is asked for', async (t) => {
  t.equal(loadConfig({ SAGEGATE_BUCKET: 'my-bucket', SAGEGATE_ANONYMOUS: 'true' }).local.enabled, false)
  t.equal(loadConfig({ SAGEGATE_BUCKET: 'my-bucket', SAGEGATE_LOCAL: 'true' }).local.enabled, true)
})

t.test('the file is read and environment variables win over it', async (t) => {
  const file = {
    server: { port: 4000, logLevel: 'debug' },
    storage: { bucket: 'from-file', prefix: 'p/' },
    auth: { anonymous: true },
    models: { clip: { mode: 'async', endpointName: 'clip-ep', contentTypes: ['Video/MP4'], maxBytes: 100 } },
  }
  const c = loadConfig({ SAGEGATE_CONFIG: 'x.yaml', PORT: '5000' }, () => file)
  t.equal(c.server.port, 5000)
  t.equal(c.server.logLevel, 'debug')
  t.equal(c.storage.bucket, 'from-file')
  t.match(c.models.clip, { endpointName: 'clip-ep', contentTypes: ['video/mp4'], ttlSeconds: 21600, invocationTimeoutSeconds: 900 })
})

t.test('every bad key is named at once', async (t) => {
  const file = {
    upload: { partSizeBytes: 1024 },
    models: {
      Bad_Name: { mode: 'async', endpointName: 'ok', contentTypes: ['video/mp4'], maxBytes: 1 },
      clip: { mode: 'async', endpointName: '-bad-', contentTypes: [], maxBytes: 2 * 1024 ** 3, ttlSeconds: 5 },
    },
    surprise: true,
  }
  const err = t.throws(() => loadConfig({ SAGEGATE_CONFIG: 'c.json', PORT: 'eighty', SAGEGATE_UPLOAD_QUEUE_SIZE: '0' }, () => file)) as ConfigError
  t.type(err, ConfigError)
  const text = err.problems.join('\n')
  for (const key of ['PORT', 'SAGEGATE_UPLOAD_QUEUE_SIZE', 'c.json: upload.partSizeBytes', 'models.Bad_Name', 'models.clip.endpointName', 'models.clip.contentTypes', 'models.clip.maxBytes', 'models.clip.ttlSeconds', 'surprise']) {
    t.match(text, key, `names ${key}`)
  }
})

t.test('an unreadable file is reported with its path', async (t) => {
  const err = t.throws(() =>
    loadConfig({ SAGEGATE_CONFIG: '/nope.yaml' }, () => {
      throw new Error('ENOENT')
    }),
  ) as ConfigError
  t.match(err.problems[0], /SAGEGATE_CONFIG: cannot read \/nope\.yaml/)
})

t.test('production never falls back to the embedded local stack', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production' })) as ConfigError
  t.match(err.problems[0], /SAGEGATE_BUCKET.*required in production.*SAGEGATE_LOCAL=true/)
  t.equal(loadConfig({ NODE_ENV: 'production', SAGEGATE_LOCAL: 'true' }).local.enabled, true, 'unless asked for')
  t.equal(loadConfig({ NODE_ENV: 'production', SAGEGATE_BUCKET: 'my-bucket', SAGEGATE_ANONYMOUS: 'true' }).local.enabled, false)
  // Running on AWS compute is production too, whatever NODE_ENV says; a developer's AWS_PROFILE is not.
  for (const name of ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_FUNCTION_NAME']) {
    const onAws = t.throws(() => loadConfig({ [name]: 'set' })) as ConfigError
    t.match(onAws.problems[0], new RegExp(`SAGEGATE_BUCKET.*required in production \\(running on AWS: ${name} is set\\)`), name)
    t.equal(loadConfig({ [name]: 'set', SAGEGATE_LOCAL: 'true' }).local.enabled, true, `${name}: unless asked for`)
  }
  t.equal(loadConfig({ AWS_PROFILE: 'dev', AWS_REGION: 'eu-west-1' }).local.enabled, true, "a developer's profile and region keep npm start local")
})

t.test('an AWS endpoint without a bucket is a configuration error, not the local stack', async (t) => {
  const err = t.throws(() => loadConfig({ SAGEGATE_S3_ENDPOINT: 'http://minio:9000' })) as ConfigError
  t.match(err.problems[0], /SAGEGATE_BUCKET/)
})

t.test('deadlines, limits and the drain have defaults, and take environment variables', async (t) => {
  const c = loadConfig({})
  t.match(c, {
    server: { headersTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, drainTimeoutMs: 30_000 },
    aws: { maxAttempts: 3, s3AttemptTimeoutMs: 4000, s3StallTimeoutMs: 4000, readBudgetMs: 12_000, sageMakerAttemptTimeoutMs: 5000, s3MaxSockets: 64, s3UploadMaxSockets: 128 },
    upload: { idleTimeoutMs: 30_000 },
    limits: { maxConcurrentUploads: 256 },
  })
  const e = loadConfig({ SAGEGATE_UPLOAD_IDLE_TIMEOUT_MS: '1000', SAGEGATE_MAX_CONCURRENT_UPLOADS: '8', SAGEGATE_DRAIN_TIMEOUT_MS: '0', SAGEGATE_READ_BUDGET_MS: '900' })
  t.equal(e.upload.idleTimeoutMs, 1000)
  t.equal(e.limits.maxConcurrentUploads, 8)
  t.equal(e.server.drainTimeoutMs, 0)
  t.equal(e.aws.readBudgetMs, 900)
  const f = loadConfig({ SAGEGATE_CONFIG: 'c.yaml' }, () => ({ upload: { idleTimeoutMs: 2000 }, limits: { maxConcurrentUploads: 3 }, server: { drainTimeoutMs: 5000 } }))
  t.match(f, { upload: { idleTimeoutMs: 2000 }, limits: { maxConcurrentUploads: 3 }, server: { drainTimeoutMs: 5000 } })
  const err = t.throws(() =>
    loadConfig({ SAGEGATE_CONFIG: 'c.yaml', SAGEGATE_UPLOAD_IDLE_TIMEOUT_MS: '5', SAGEGATE_MAX_CONCURRENT_UPLOADS: '0' }, () => ({ aws: { s3AttemptTimeoutMs: -1 }, limits: { surprise: 1 } })),
  ) as ConfigError
  const text = err.problems.join('\n')
  for (const key of ['SAGEGATE_UPLOAD_IDLE_TIMEOUT_MS', 'SAGEGATE_MAX_CONCURRENT_UPLOADS', 'c.yaml: aws.s3AttemptTimeoutMs', 'c.yaml: limits']) t.match(text, key, `names ${key}`)
})

t.test('an empty number is an error, not 0; a bad model name says why', async (t) => {
  const err = t.throws(() => loadConfig({ PORT: '', SAGEGATE_CONFIG: 'c.yaml' }, () => ({ models: { Bad_Name: { mode: 'async', endpointName: 'ok', contentTypes: ['video/mp4'], maxBytes: 1 } } }))) as ConfigError
  const text = err.problems.join('\n')
  t.match(text, /PORT: must not be empty/)
  t.match(text, /models\.Bad_Name: model names are lowercase letters/)
})

const HASH = 'a'.repeat(64)

t.test('outside the local stack, a gateway with no API keys refuses to start unless told to run open', async (t) => {
  const err = t.throws(() => loadConfig({ SAGEGATE_BUCKET: 'my-bucket' })) as ConfigError
  t.match(err.problems.join('\n'), /auth\.keys: no API keys configured.*auth\.anonymous: true \(SAGEGATE_ANONYMOUS=true\)/)
  t.equal(loadConfig({ SAGEGATE_BUCKET: 'my-bucket', SAGEGATE_ANONYMOUS: 'true' }).auth.anonymous, true)
  const keyed = loadConfig({ SAGEGATE_BUCKET: 'my-bucket', SAGEGATE_CONFIG: 'c.yaml' }, () => ({ auth: { keys: [{ id: 'web', tenant: 'acme', sha256: HASH.toUpperCase() }] } }))
  t.match(keyed.auth.keys[0], { id: 'web', tenant: 'acme', sha256: HASH, models: ['*'] }, 'hash lowercased, all models by default')
  t.equal(loadConfig({}).auth.keys.length, 0, 'the local stack runs open')
})

t.test('auth and cors problems are all named at once', async (t) => {
  const err = t.throws(() =>
    loadConfig({ SAGEGATE_CONFIG: 'c.yaml' }, () => ({
      auth: {
        keys: [
          { id: 'web', tenant: 'acme', sha256: 'not-hex' },
          { id: 'web', tenant: 'a b', sha256: HASH, models: [] },
          { id: 'other', tenant: 'acme', sha256: HASH, requestsPerMinute: 0, key: 'plain' },
        ],
      },
      cors: { origins: ['https://app.example.com/', '*'] },
    })),
  ) as ConfigError
  const text = err.problems.join('\n')
  for (const path of ['auth.keys.0.sha256', 'auth.keys.1.id', 'auth.keys.1.tenant', 'auth.keys.1.models', 'auth.keys.2.sha256', 'auth.keys.2.requestsPerMinute', 'auth.keys.2', 'cors.origins.0', 'cors.origins.1']) {
    t.match(text, `c.yaml: ${path}:`, `names ${path}`)
  }
})
