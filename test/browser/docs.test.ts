import t from 'tap'
import { withKeys } from '../helpers/auth.js'
import { buildTestApp } from '../helpers/app.js'
import { chromiumPath, dumpDom } from '../helpers/chromium.js'

// /docs in a real browser: Swagger UI's scripts run under the page's Content-Security-Policy
// (helmet's: scripts only from the gateway itself), load the description from the gateway and render
// every operation — with keys configured, since the page and the description are public.
t.test('the docs page renders the API in Chromium', { skip: chromiumPath() === undefined ? 'chromium is not installed (apt-get install -y chromium; .ci/run installs it)' : false }, async (t) => {
  const { app } = await buildTestApp({ configure: withKeys() })
  t.teardown(() => app.close())
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const dom = await dumpDom(`${url}/docs/`)
  t.match(dom, /class="title">sagegate/, "the description's title")
  const paths = new Set([...dom.matchAll(/data-path="([^"]+)"/g)].map((m) => m[1]))
  for (const path of ['/models', '/models/{name}/jobs', '/models/{name}/predict', '/jobs/{id}', '/jobs/{id}/result', '/openapi.json']) t.ok(paths.has(path), `${path} is listed`)
  t.notMatch(dom, /Failed to load API definition/)
})
