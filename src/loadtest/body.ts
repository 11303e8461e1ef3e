/**
 * The one request body every request of a run sends: read once into memory (a predict body is at
 * most 6 MiB, so the client's disk never enters the latency), or generated.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { typeFromFilename } from '../lib/media-type.js'

export interface RequestBody {
  bytes: Buffer
  contentType: string
}

const WORDS = 'the model reads this text and answers with a short summary of what it says about load and latency'.split(' ')

/** ASCII words (sentences, so a summarizer has something to rank) cut to exactly `size` bytes. */
export function asciiText(size: number): string {
  const parts: string[] = []
  let length = 0
  for (let i = 0; length < size; i++) {
    const word = WORDS[i % WORDS.length]!
    const piece = i % 12 === 11 ? `${word}. ` : `${word} `
    parts.push(piece)
    length += piece.length
  }
  return parts.join('').slice(0, size)
}

/**
 * A body of `size` bytes for a content type: `{"inputs": "..."}` for JSON (the text models' shape),
 * ASCII text for text/*, random (incompressible) bytes otherwise.
 */
export function generatedBody(size: number, contentType: string): Buffer {
  const essence = contentType.split(';')[0]!.trim().toLowerCase()
  if (essence === 'application/json') {
    const envelope = '{"inputs":""}'
    return Buffer.from(`{"inputs":"${asciiText(Math.max(0, size - envelope.length))}"}`)
  }
  if (essence.startsWith('text/')) return Buffer.from(asciiText(size))
  return randomBytes(size)
}

export async function loadBody(o: { bodyFile?: string; sizeBytes?: number; contentType?: string }): Promise<RequestBody> {
  if (o.bodyFile !== undefined) {
    const contentType = o.contentType ?? typeFromFilename(o.bodyFile) ?? 'application/octet-stream'
    return { bytes: await readFile(o.bodyFile), contentType }
  }
  const contentType = o.contentType ?? 'application/octet-stream'
  return { bytes: generatedBody(o.sizeBytes ?? 0, contentType), contentType }
}
