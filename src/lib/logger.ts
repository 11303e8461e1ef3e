import pino, { type Logger } from 'pino'

/** Secrets must never reach the logs, whatever a serializer or a future log line includes. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["x-amz-security-token"]',
  'headers.authorization',
  'credentials',
  '*.credentials',
  '*.secretAccessKey',
  '*.sessionToken',
  // the webhook signing secret (webhooks.secret), wherever a config section is logged
  'secret',
  '*.secret',
]

/** Human-readable lines for a terminal (pino-pretty, in a worker thread); JSON, one object per line, otherwise. */
export const prettyTransport = { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } }

export function createLogger(level: string, pretty = false): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' }, ...(pretty ? { transport: prettyTransport } : {}) })
}
