// Reads a byte range of an object that is stored as an ordered list of files (one for a simple PUT,
// one per part for a multipart object), streaming file after file.
import { createReadStream } from 'node:fs'

export interface SegmentFile {
  path: string
  sizeBytes: number
}

const READ_HIGH_WATER_MARK = 1 << 20

/** An async generator of the bytes [start, endInclusive] across the files, for `pipeline`. */
export function readSegments(files: SegmentFile[], start: number, endInclusive: number): () => AsyncGenerator<Buffer> {
  return async function* read() {
    let offset = 0
    for (const f of files) {
      const fileStart = offset
      const fileEnd = offset + f.sizeBytes - 1
      offset += f.sizeBytes
      if (f.sizeBytes === 0 || fileEnd < start) continue
      if (fileStart > endInclusive) break
      const stream = createReadStream(f.path, {
        start: Math.max(start, fileStart) - fileStart,
        end: Math.min(endInclusive, fileEnd) - fileStart,
        highWaterMark: READ_HIGH_WATER_MARK,
      })
      for await (const chunk of stream) yield chunk as Buffer
    }
  }
}
