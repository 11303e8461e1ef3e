/** One line for a log: `Name (code): message`, and the same for its cause (fetch hides the reason there). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error) && (typeof err !== 'object' || err === null)) return String(err)
  const e = err as { name?: string; code?: unknown; message?: string; cause?: unknown }
  const line = `${e.name ?? 'Error'}${typeof e.code === 'string' ? ` (${e.code})` : ''}: ${e.message ?? ''}`
  return e.cause instanceof Error ? `${line}; cause: ${describeError(e.cause)}` : line
}
