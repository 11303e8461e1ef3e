/**
 * The load test's command: arguments in, tables (or one JSON document) on stdout, progress and
 * problems on stderr, and the exit code. No process.exit here, so tests can call it.
 */
import { loadBody } from './body.js'
import { resolveDirectTarget } from './direct.js'
import { authHeaders } from './http.js'
import { HELP, parseOptions } from './options.js'
import { createProgress, type ProgressStream } from './progress.js'
import { formatReport } from './report.js'
import { runLoadTest } from './runner.js'

export interface Io {
  stdout: { write(text: string): unknown }
  stderr: ProgressStream
  env: Record<string, string | undefined>
}

/** 0 once measured (errors included: they are part of the measurement), 2 on bad arguments, 1 on a failed setup. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseOptions(argv)
  if (parsed.kind === 'help') {
    io.stdout.write(HELP)
    return 0
  }
  if (parsed.kind === 'error') {
    io.stderr.write(`${parsed.errors.map((e) => `sagegate-loadtest: ${e}`).join('\n')}\n(--help lists the options)\n`)
    return 2
  }
  const o = parsed.options
  try {
    const body = await loadBody(o)
    const envRegion = io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION
    const headers = authHeaders(o.apiKey)
    const direct = o.direct
      ? await resolveDirectTarget({
          url: o.url,
          model: o.model,
          headers,
          localJson: o.localJson,
          ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
          ...(o.targetModel !== undefined ? { targetModel: o.targetModel } : {}),
          ...(o.region !== undefined ? { region: o.region } : {}),
          ...(envRegion !== undefined ? { envRegion } : {}),
        })
      : undefined
    const report = await runLoadTest(
      {
        url: o.url,
        model: o.model,
        mode: o.mode,
        concurrency: o.concurrency,
        ...(o.requests !== undefined ? { requests: o.requests } : { durationSeconds: o.durationSeconds! }),
        warmupSeconds: o.warmupSeconds,
        followSeconds: o.followSeconds,
        body,
        ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
        ...(o.pricePerHour !== undefined ? { pricePerHour: o.pricePerHour } : {}),
        ...(direct !== undefined ? { direct } : {}),
      },
      createProgress(io.stderr),
    )
    io.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report, o.pricePerHour)}\n`)
    return 0
  } catch (err) {
    io.stderr.write(`sagegate-loadtest: ${(err as Error).message}\n`)
    return 1
  }
}
