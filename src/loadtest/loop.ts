/**
 * The closed load loop: `concurrency` workers, each sending its next request as soon as its last one
 * is answered, until a number of requests has been sent or a time is up.
 */

export interface Sample {
  /** HTTP status; 0 for no answer (a network error). */
  status: number
  latencyMs: number
}

export interface Limit {
  requests?: number
  durationSeconds?: number
}

/** What a progress display reads while a loop runs. */
export interface Counters {
  done: number
  errors: number
  /** Jobs mode: accepted jobs seen to end (or given up on). */
  ended?: number
}

export interface LoopResult {
  samples: Sample[]
  /** From the first request sent to the last one answered. */
  seconds: number
}

export const isSuccess = (status: number, expected: readonly number[]): boolean => expected.includes(status)

/**
 * Runs the loop. With a duration, no request starts after it is up, and those under way are waited
 * for and counted (so the time measured is a little longer than the duration, and TPS stays honest).
 */
export async function runLoop(
  concurrency: number,
  call: () => Promise<Sample>,
  limit: Limit,
  expected: readonly number[],
  counters: Counters = { done: 0, errors: 0 },
): Promise<LoopResult> {
  const samples: Sample[] = []
  const started = performance.now()
  const endAt = limit.durationSeconds !== undefined ? started + limit.durationSeconds * 1000 : Number.POSITIVE_INFINITY
  let claimed = 0
  const more = () => (limit.requests === undefined || claimed < limit.requests) && performance.now() < endAt
  const worker = async () => {
    while (more()) {
      claimed++
      const sample = await call()
      samples.push(sample)
      counters.done++
      if (!isSuccess(sample.status, expected)) counters.errors++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { samples, seconds: (performance.now() - started) / 1000 }
}
