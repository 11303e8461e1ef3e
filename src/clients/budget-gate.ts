import { finished, Transform, type Readable, type TransformCallback } from 'node:stream'
import type { UploadBudget } from '../lib/upload-budget.js'

/**
 * Lets an upload's bytes on to lib-storage only as far as the room it reserved in the global budget
 * (lib/upload-budget.ts) covers, and SLACK_BYTES more: at most that many bytes are between this gate and S3 at any time
 * (lib-storage's part buffers, the parts being sent). Room is reserved a part at a time before the
 * part is filled — a whole part, or what is left of a body whose length is known when that is less —
 * and given back once S3 has taken the part (`partDone`). Without room the gate stops reading its
 * source and the client meets TCP backpressure. Chunks are cut at the room's end, so the part being
 * filled can always be completed with the room held.
 */
export class BudgetGate extends Transform {
  private held = 0
  private admitted = 0
  private completed = 0
  private wake: (() => void) | undefined
  private readonly stop = new AbortController()

  constructor(
    private readonly budget: UploadBudget,
    /** Parts this upload may hold at once: lib-storage's queueSize in flight, and one being filled. */
    private readonly maxParts: number,
    /** The body's length when known (Content-Length): a small body reserves only its own size. */
    private readonly expectedBytes?: number,
  ) {
    super()
  }

  /** S3 has taken `bytes` of this upload (an UploadPart, or the PutObject of a small body). */
  partDone(bytes: number): void {
    this.completed += bytes
    // Room no longer needed for the bytes still held goes back at once, for other uploads: whole
    // parts for what is buffered, and no more than what is left of a body of known length. One
    // part's room stays until the body's end: lib-storage keeps the part just sent alive until it
    // has assembled the next (MEMORY_PER_BYTE), and an upload that gave all its room back would
    // hold that buffer uncharged while it waited for room again.
    // The slack beyond the room held (at most SLACK_BYTES) needs no room of its own.
    const buffered = Math.max(0, this.admitted - this.completed - SLACK_BYTES)
    const partSize = this.budget.partSizeBytes
    let needed = Math.max(partSize, Math.ceil(buffered / partSize) * partSize)
    if (this.expectedBytes !== undefined) needed = Math.min(needed, Math.max(0, this.expectedBytes - this.completed))
    if (this.held > needed) {
      this.budget.release((this.held - needed) * MEMORY_PER_BYTE)
      this.held = needed
    }
    this.wake?.()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.admit(chunk).then(() => callback(), callback)
  }

  /** The room the next part needs: a whole part, or the rest of a body of known length. */
  private nextReservation(): number {
    const partSize = this.budget.partSizeBytes
    if (this.expectedBytes === undefined) return partSize
    // Bytes of the body that neither S3 has taken nor the room held covers.
    const left = this.expectedBytes - this.completed - this.held
    // A body longer than announced still gets whole parts (the limiter ends it where it must).
    return left > 0 ? Math.min(partSize, left) : partSize
  }

  private async admit(chunk: Buffer): Promise<void> {
    let rest = chunk
    while (rest.length > 0) {
      if (this.stop.signal.aborted) return
      // lib-storage hands a part over only once it holds more than a part (one byte of the next):
      // while room is held, SLACK_BYTES more may pass, or every upload would wait for ever on a full part.
      const room = (this.held > 0 ? this.held + SLACK_BYTES : 0) - (this.admitted - this.completed)
      if (room > 0) {
        const piece = rest.subarray(0, room)
        this.admitted += piece.length
        this.push(piece)
        rest = rest.subarray(piece.length)
        continue
      }
      const bytes = this.nextReservation()
      if (this.held + bytes <= this.maxParts * this.budget.partSizeBytes && this.budget.tryAcquire(bytes * MEMORY_PER_BYTE)) {
        this.held += bytes
      } else if (this.held === 0) {
        await this.budget.acquire(bytes * MEMORY_PER_BYTE, this.stop.signal)
        this.held += bytes
      } else {
        // Full with the room held: one of this upload's own parts completing makes room.
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = undefined
      }
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.giveBack()
    callback(err)
  }

  /** Everything goes back: the upload is over (done, failed or stopped). Safe to call twice. */
  giveBack(): void {
    this.stop.abort(GATE_CLOSED)
    this.wake?.()
    if (this.held > 0) this.budget.release(this.held * MEMORY_PER_BYTE)
    this.held = 0
  }
}

/**
 * What a byte let through costs in memory, measured (heap snapshots of 64 concurrent uploads):
 * lib-storage assembles a part by concatenating its chunks and keeps the next part's first bytes as a
 * view of that buffer, so the previous part's buffer stays alive until the next part is assembled —
 * up to two parts' worth per part of room. The budget is charged for that, so that it bounds memory.
 */
export const MEMORY_PER_BYTE = 2

/** Bytes an upload holding room may pass beyond it (see admit): one stream chunk. */
export const SLACK_BYTES = 64 * 1024

/** The reason a gate's waits end with: one instance, not a DOMException built per upload. */
const GATE_CLOSED = new Error('upload over')

/**
 * `body` through a budget gate. An error of either ends both, and so does a body that closes before
 * its end (a premature close is an error to the reader, as when lib-storage read the body itself).
 */
export function gated(body: Readable, budget: UploadBudget, maxParts: number, expectedBytes?: number): BudgetGate {
  const gate = new BudgetGate(budget, maxParts, expectedBytes)
  // finished() rather than pipeline(): the same error and premature-close handling, without an
  // AbortController (and its DOMException) per upload.
  finished(body, (err) => {
    if (err) gate.destroy(err)
  })
  gate.on('error', (err) => {
    if (!body.destroyed) body.destroy(err)
  })
  body.pipe(gate)
  return gate
}
