// Reads a byte range of an object that is stored as an ordered list of files (one for a simple PUT,
// one per part for a multipart object): streaming file after file (readSegments), or, for a small range,
// into one buffer with synchronous reads (readSegmentsSync).
import { closeSync, createReadStream, openSync, readSync } from 'node:fs'

export interface SegmentFile {
  path: string
  sizeBytes: number
}

const READ_HIGH_WATER_MARK = 1 << 20

/** The part of each file that holds bytes of [start, endInclusive] (offsets within the file, inclusive). */
function* pieces(files: SegmentFile[], start: number, endInclusive: number): Generator<{ path: string; from: number; to: number }> {
  let offset = 0
  for (const f of files) {
    const fileStart = offset
    const fileEnd = offset + f.sizeBytes - 1
    offset += f.sizeBytes
    if (f.sizeBytes === 0 || fileEnd < start) continue
    if (fileStart > endInclusive) break
    yield { path: f.path, from: Math.max(start, fileStart) - fileStart, to: Math.min(endInclusive, fileEnd) - fileStart }
  }
}

/** An async generator of the bytes [start, endInclusive] across the files, for `pipeline`. */
export function readSegments(files: SegmentFile[], start: number, endInclusive: number): () => AsyncGenerator<Buffer> {
  return async function* read() {
    for (const p of pieces(files, start, endInclusive)) {
      const stream = createReadStream(p.path, { start: p.from, end: p.to, highWaterMark: READ_HIGH_WATER_MARK })
      for await (const chunk of stream) yield chunk as Buffer
    }
  }
}

/** The bytes [start, endInclusive] across the files, read synchronously into one buffer (for small ranges). */
export function readSegmentsSync(files: SegmentFile[], start: number, endInclusive: number): Buffer {
  const out = Buffer.allocUnsafe(Math.max(0, endInclusive - start + 1))
  let filled = 0
  for (const p of pieces(files, start, endInclusive)) {
    let position = p.from
    let remaining = p.to - p.from + 1
    const fd = openSync(p.path, 'r')
    try {
      while (remaining > 0) {
        const n = readSync(fd, out, filled, remaining, position)
        // A data file shorter than its recorded size: never send the unfilled (uninitialised) rest.
        if (n === 0) throw new Error(`local-s3: data file ${p.path} is shorter than its recorded size`)
        filled += n
        position += n
        remaining -= n
      }
    } finally {
      closeSync(fd)
    }
  }
  return out
}
