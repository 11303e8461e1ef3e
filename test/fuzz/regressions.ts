/**
 * Counterexamples the fuzz runs found, pinned: every run (the small one of `npm test` too) sends
 * them first, so a defect the seed-fixed run happens not to generate still fails it until fixed.
 * Each is the smallest request that showed the defect; the issue it came from is in its family.
 */
import type { FuzzContext, HttpCase } from './arbitraries.js'
import type { RawCase } from './framing.js'
import type { FuzzCase } from './send.js'

const get = (family: string, path: string, headers: Array<[string, string]> = []): HttpCase => ({ via: 'http', family, method: 'GET', path, headers, chunked: false })

export function regressions(ctx: FuzzContext): FuzzCase[] {
  const cases: FuzzCase[] = [
    // Node answers an Expect it does not know with a bare 417 (no checkExpectation listener).
    get('regression:expect', '/healthz', [['expect', 'foo']]),
    // Fastify's own answers for a path parameter over maxParamLength, and for bad percent-encoding.
    get('regression:long-param', `/models/${'a'.repeat(101)}`),
    get('regression:bad-url', '/models/%ff'),
    // Node answers an HTTP/1.1 request without Host with a bare 400 (requireHostHeader).
    { via: 'raw', family: 'regression:no-host', segments: ['GET /healthz HTTP/1.1\r\n\r\n'], end: 'wait', heads: [false] } satisfies RawCase,
  ]
  // multipart/form-data without a boundary: busboy throws "Boundary not found", answered 500.
  const job = ctx.models.find((m) => m.mode === 'async')
  if (job !== undefined) {
    const form = (boundary: string, body: string): HttpCase => ({
      via: 'http',
      family: 'regression:multipart-boundary',
      method: 'POST',
      path: `/models/${job.name}/jobs`,
      headers: [['content-type', `multipart/form-data${boundary}`]],
      body,
      chunked: false,
    })
    cases.push(
      form('', 'x'),
      // A boundary over busboy's 256-byte search limit ("The needle cannot have a length bigger than 256").
      form(`; boundary=${'x'.repeat(300)}`, `--${'x'.repeat(300)}\r\n`),
      // A part cut short ("Part terminated early due to unexpected end of multipart data").
      form('; boundary=--', '----\r\nContent-Disposition: form-data; name="file"; filename="a"\r\nContent-Type: text/plain\r\n\r\n--\r\n'),
    )
  }
  return cases
}
