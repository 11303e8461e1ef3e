/**
 * `npm run loadtest` arguments: node:util parseArgs reads them (non-strict, so that an unknown option
 * does not stop the reading at the first one), zod validates them, and every bad option is reported
 * at once, each by its name.
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'

export const HELP = `Usage: npm run loadtest -- --model NAME [options]   (or: npx sagegate-loadtest ...)

Sends load to a sagegate gateway and prints, per concurrency level, TPS, p50/p90/p99 latency,
errors by status and (with --price-per-hour) the cost per million inferences.

  --url URL              the gateway (default http://127.0.0.1:3000)
  --model NAME           the model to call (required)
  --mode predict|jobs    POST /models/NAME/predict (default), or POST /models/NAME/jobs and follow
                         every job to its end with GET /jobs/{id}?wait=60
  --concurrency LIST     workers sending back to back, a sweep: 1,4,16 (default 1)
  --duration SECONDS     measure each level this long (default 10)
  --requests N           or send exactly N requests per level (jobs: N jobs)
  --follow SECONDS       jobs: stop following a job this long after its 202 (default 900);
                         it is then counted as unfinished
  --warmup SECONDS       predict: unmeasured requests before each level (default 1; 0: none)
  --body FILE            the request body (read once; predict bodies are at most 6 MiB)
  --size BYTES           or a generated body of this size (default 1024): random bytes, or ASCII
                         text for text/* and {"inputs": "..."} for application/json
  --content-type TYPE    default: from --body's extension, else application/octet-stream
  --api-key KEY          sent as Authorization: Bearer KEY
  --price-per-hour P     the instance's hourly price: adds the cost per 1M inferences
  --direct               predict only: the same load straight at the SageMaker endpoint with the
                         AWS SDK (InvokeEndpoint), and the gateway/direct ratios
  --endpoint NAME        --direct: the endpoint (default: the model's, from GET /models/NAME)
  --target-model NAME    --direct: the TargetModel (default NAME.tar.gz for a discovered model)
  --local-json FILE      --direct: region, credentials and runtime URL of the local stack
                         (default .data/local.json; when absent, the SDK's default chain)
  --region REGION        --direct without local.json (default: AWS_REGION)
  --json                 print one JSON document on stdout instead of tables
  --help                 this text

Progress goes to stderr. Exit code 0 once measured, errors included; 2 on bad arguments;
1 when the run cannot start (an unreadable --body, no endpoint for --direct).
`

const spec = {
  url: { type: 'string' },
  model: { type: 'string' },
  mode: { type: 'string' },
  concurrency: { type: 'string' },
  duration: { type: 'string' },
  requests: { type: 'string' },
  warmup: { type: 'string' },
  follow: { type: 'string' },
  body: { type: 'string' },
  size: { type: 'string' },
  'content-type': { type: 'string' },
  'api-key': { type: 'string' },
  'price-per-hour': { type: 'string' },
  direct: { type: 'boolean' },
  endpoint: { type: 'string' },
  'target-model': { type: 'string' },
  'local-json': { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const

const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.int().min(1, 'must be at least 1').max(max, `must be at most ${max}`))
const seconds = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a number of seconds')
  .transform(Number)

const schema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('http://127.0.0.1:3000').transform((u) => u.replace(/\/+$/, '')),
    model: z.string({ error: 'is required' }).regex(/^[a-z0-9._-]{1,64}$/, 'must be a model name as GET /models lists it'),
    mode: z.enum(['predict', 'jobs'], { error: 'must be predict or jobs' }).default('predict'),
    concurrency: z
      .string()
      .regex(/^\d+(,\d+)*$/, 'must be a comma-separated list of whole numbers, e.g. 1,4,16')
      .transform((s) => s.split(',').map(Number))
      .pipe(z.array(z.int().min(1, 'each level must be at least 1').max(4096, 'each level must be at most 4096')))
      .default([1]),
    duration: seconds.pipe(z.number().gt(0, 'must be more than 0')).optional(),
    requests: positiveInt(10_000_000).optional(),
    warmup: seconds.default(1),
    follow: seconds.pipe(z.number().gt(0, 'must be more than 0')).default(900),
    body: z.string().min(1).optional(),
    size: z
      .string()
      .regex(/^\d+$/, 'must be a whole number of bytes')
      .transform(Number)
      .pipe(z.int().max(1024 * 1024 * 1024, 'must be at most 1 GiB'))
      .optional(),
    'content-type': z.string().regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must be a media type such as text/plain').optional(),
    'api-key': z.string().min(1).optional(),
    'price-per-hour': z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'must be a number')
      .transform(Number)
      .pipe(z.number().gt(0, 'must be more than 0'))
      .optional(),
    direct: z.boolean().default(false),
    endpoint: z.string().min(1).optional(),
    'target-model': z.string().min(1).optional(),
    'local-json': z.string().min(1).default('.data/local.json'),
    region: z.string().regex(/^[a-z0-9-]+$/, 'must be a region such as us-east-1').optional(),
    json: z.boolean().default(false),
  })

/** Options that cannot go together, checked on the raw values so they are reported with the rest. */
function conflicts(raw: Record<string, unknown>): string[] {
  const out: string[] = []
  if (raw.duration !== undefined && raw.requests !== undefined) out.push('--requests: give --duration or --requests, not both')
  if (raw.body !== undefined && raw.size !== undefined) out.push('--size: give --body or --size, not both')
  if (raw.direct === true && raw.mode === 'jobs') out.push('--direct: measures predict mode only (InvokeEndpointAsync is not implemented)')
  return out
}

export interface LoadTestOptions {
  url: string
  model: string
  mode: 'predict' | 'jobs'
  concurrency: number[]
  /** Seconds per level, or... */
  durationSeconds?: number
  /** ...requests per level (exactly one of the two is set). */
  requests?: number
  warmupSeconds: number
  followSeconds: number
  bodyFile?: string
  sizeBytes?: number
  contentType?: string
  apiKey?: string
  pricePerHour?: number
  direct: boolean
  endpoint?: string
  targetModel?: string
  localJson: string
  region?: string
  json: boolean
}

export type ParseResult = { kind: 'ok'; options: LoadTestOptions } | { kind: 'help' } | { kind: 'error'; errors: string[] }

const DEFAULT_DURATION_SECONDS = 10
const DEFAULT_SIZE_BYTES = 1024

/** Reads argv (without node and the script); never throws, never exits. */
export function parseOptions(argv: readonly string[]): ParseResult {
  const errors: string[] = []
  // Non-strict parseArgs would take the next option as a string option's value (`--model --url x`):
  // such an option is reported and dropped here, so the next one is read as the option it is.
  const args = argv.filter((arg, i) => {
    const known = (spec as Record<string, { type: string }>)[arg.slice(2)]
    const next = argv[i + 1]
    if (!arg.startsWith('--') || known?.type !== 'string' || (next !== undefined && !next.startsWith('--'))) return true
    errors.push(`${arg}: needs a value`)
    return false
  })
  const { values, tokens } = parseArgs({ args, options: spec, strict: false, allowPositionals: true, tokens: true })
  if (values.help === true) return { kind: 'help' }
  const raw: Record<string, unknown> = {}
  for (const token of tokens) {
    if (token.kind === 'positional') errors.push(`unexpected argument "${token.value}"`)
    if (token.kind !== 'option') continue
    const known = (spec as Record<string, { type: string }>)[token.name]
    if (known === undefined) errors.push(`${token.rawName}: unknown option`)
    else if (known.type === 'boolean' && token.value !== undefined) errors.push(`${token.rawName}: takes no value`)
    else if (known.type === 'string' && token.value === undefined) errors.push(`${token.rawName}: needs a value`)
    else raw[token.name] = known.type === 'boolean' ? true : token.value
  }
  errors.push(...conflicts(raw))
  const parsed = schema.safeParse(raw)
  // An option already reported (no value) is not reported again as missing.
  const reported = new Set(errors.map((e) => e.split(':')[0]))
  if (!parsed.success)
    for (const i of parsed.error.issues) if (!reported.has(`--${String(i.path[0])}`)) errors.push(`--${String(i.path[0])}: ${i.message}`)
  if (errors.length > 0 || !parsed.success) return { kind: 'error', errors: [...new Set(errors)] }
  const o = parsed.data
  return {
    kind: 'ok',
    options: {
      url: o.url,
      model: o.model,
      mode: o.mode,
      concurrency: o.concurrency,
      ...(o.requests !== undefined ? { requests: o.requests } : { durationSeconds: o.duration ?? DEFAULT_DURATION_SECONDS }),
      warmupSeconds: o.warmup,
      followSeconds: o.follow,
      ...(o.body !== undefined ? { bodyFile: o.body } : { sizeBytes: o.size ?? DEFAULT_SIZE_BYTES }),
      ...(o['content-type'] !== undefined ? { contentType: o['content-type'] } : {}),
      ...(o['api-key'] !== undefined ? { apiKey: o['api-key'] } : {}),
      ...(o['price-per-hour'] !== undefined ? { pricePerHour: o['price-per-hour'] } : {}),
      direct: o.direct,
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      ...(o['target-model'] !== undefined ? { targetModel: o['target-model'] } : {}),
      localJson: o['local-json'],
      ...(o.region !== undefined ? { region: o.region } : {}),
      json: o.json,
    },
  }
}
