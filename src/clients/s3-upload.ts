import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  type AbortMultipartUploadCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3'
import type { UploadBudget } from '../lib/upload-budget.js'
import { gated } from './budget-gate.js'
import type { Readable } from 'node:stream'
import type { CleanupQueue, CleanupTask } from '../lib/cleanup-queue.js'
import type { S3Location } from '../lib/s3-uri.js'
import type { StreamUploadOptions } from './object-store.js'
import { isMissing, translateS3Error } from './aws-errors.js'

export interface StreamingUploadDeps {
  /** A client of the upload pool whose attempts fail after the stall deadline (aws.ts stallTimeoutMs). */
  client: S3Client
  partSizeBytes: number
  queueSize: number
  cleanup: CleanupQueue
  /** Called with the S3 location whose object must go (a body that failed after a single PUT). */
  discard(loc: S3Location): Promise<void>
  /** The part buffers all uploads together may hold (upload.maxBufferedBytes); absent: no global bound. */
  budget?: UploadBudget
}

/** The bytes a part request carries (lib-storage hands each part over as one buffer). */
const bytesOf = (body: unknown): number => (body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? Buffer.byteLength(body) : 0)

/** After S3 failed an upload, the sweep of its key waits this long: requests S3 still holds land first. */
const SWEEP_DELAY_MS = 10_000

/**
 * Aborts one multipart upload. Already gone (NoSuchUpload, 404) counts as done: an abort that timed out
 * may have been carried out anyway, and the sweep may have got there first.
 */
export async function abortUpload(client: S3Client, input: AbortMultipartUploadCommandInput, signal: AbortSignal): Promise<void> {
  try {
    await client.send(new AbortMultipartUploadCommand(input), { abortSignal: signal })
  } catch (err) {
    if ((err as { name?: string }).name !== 'NoSuchUpload' && !isMissing(err)) throw err
  }
}

/** Aborts every multipart upload of `loc`'s key and deletes the object (job keys are never reused). */
function sweep(client: S3Client, loc: S3Location): CleanupTask {
  return {
    what: { bucket: loc.bucket, key: loc.key, cleanup: 'sweep' },
    async run(signal) {
      const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: loc.bucket, Prefix: loc.key }), { abortSignal: signal })
      for (const u of listed.Uploads ?? []) {
        if (u.Key !== loc.key) continue
        await abortUpload(client, { Bucket: loc.bucket, Key: loc.key, UploadId: u.UploadId! }, signal)
      }
      await client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal })
    },
  }
}

/** Stops the body when S3 failed, so lib-storage's other part loops stop pulling parts. */
class StoppedByStorage extends Error {
  constructor() {
    super('the upload was stopped because storage failed')
  }
}

/**
 * lib-storage's Upload with three of its behaviours mended, through the client it is given:
 * - A part that fails for good ends only its own part loop; the other loops keep reading the body and
 *   uploading parts nobody will complete. Here the first S3 failure stops the body, so all loops end.
 * - Its AbortMultipartUpload is awaited inline with no deadline: with S3 frozen the caller would hang.
 *   Here it goes through the cleanup queue: tried at once within a deadline and retried in the
 *   background if S3 cannot take it now (when S3 is what failed, the caller does not wait for it).
 * - A request S3 did not answer may still be carried out once it answers again (a CreateMultipartUpload
 *   whose UploadId never reached us cannot be aborted by id): the key is swept later (sweep below).
 * - Upload.abort() rejects at once while parts in flight carry on and may land after the abort. It is
 *   never called: failing the body stops every part loop, waits for the parts in flight, then aborts
 *   the multipart upload (leavePartsOnError: false). And no ContentLength: lib-storage hangs when given
 *   one with a stream.
 * A body whose announced length (opts.expectedBytes) fits one part does not go through lib-storage
 * at all: see putWhole.
 */
export async function streamToS3(deps: StreamingUploadDeps, loc: S3Location, body: Readable, opts: StreamUploadOptions): Promise<void> {
  if (opts.expectedBytes !== undefined && opts.expectedBytes <= deps.partSizeBytes) return putWhole(deps, loc, body, opts, opts.expectedBytes)
  let bodyError: Error | undefined
  let storageError: unknown
  body.once('error', (err) => {
    if (!(err instanceof StoppedByStorage)) bodyError = err
  })
  // With a budget, lib-storage reads the body through a gate that holds it to the parts it was given.
  const gate = deps.budget !== undefined ? gated(body, deps.budget, deps.queueSize + 1, opts.expectedBytes) : undefined
  const target = deps.client
  const abortMultipartUpload = async (command: AbortMultipartUploadCommand): Promise<object> => {
    const input = command.input
    const done = deps.cleanup.run({
      what: { bucket: input.Bucket, key: input.Key, uploadId: input.UploadId, cleanup: 'AbortMultipartUpload' },
      run: (signal) => abortUpload(target, input, signal),
    })
    if (storageError === undefined) await done
    return {}
  }
  const client = new Proxy(target, {
    get(t, prop, receiver) {
      if (prop !== 'send') return Reflect.get(t, prop, receiver) as unknown
      return async (command: Parameters<S3Client['send']>[0], options?: Parameters<S3Client['send']>[1]) => {
        if (command instanceof AbortMultipartUploadCommand) return abortMultipartUpload(command)
        try {
          const out = await t.send(command, options)
          if (gate !== undefined && (command instanceof UploadPartCommand || command instanceof PutObjectCommand)) gate.partDone(bytesOf(command.input.Body))
          return out
        } catch (err) {
          if (storageError === undefined && bodyError === undefined) {
            storageError = err
            body.destroy(new StoppedByStorage())
          }
          throw err
        }
      }
    },
  })
  const upload = new Upload({
    client,
    params: { Bucket: loc.bucket, Key: loc.key, Body: gate ?? body, ContentType: opts.contentType, Metadata: opts.metadata },
    partSize: deps.partSizeBytes,
    queueSize: deps.queueSize,
    leavePartsOnError: false,
  })
  try {
    await upload.done()
  } catch (err) {
    if (bodyError !== undefined) throw bodyError
    // A request S3 did not answer may still have been carried out (a CreateMultipartUpload whose
    // UploadId never reached us, a PutObject, a part): look for what is left once S3 answers again.
    if (storageError !== undefined) deps.cleanup.defer(sweep(target, loc), SWEEP_DELAY_MS)
    throw translateS3Error(storageError ?? err)
  } finally {
    gate?.giveBack()
  }
  if (bodyError !== undefined) {
    // The body failed after its last byte was taken (a single PutObject completed): remove it.
    await deps.discard(loc)
    throw bodyError
  }
}

/**
 * A body whose announced length fits one part: read whole (through the budget gate, which reserves
 * its size), then sent as one PutObject — what lib-storage would do for it, without its part
 * machinery. Nothing is written before the last byte, so a body that fails (too large, the client
 * left) leaves nothing behind; a PutObject that fails may still be carried out once S3 answers
 * again, so the key is swept as after a failed multipart upload.
 */
async function putWhole(deps: StreamingUploadDeps, loc: S3Location, body: Readable, opts: StreamUploadOptions, expectedBytes: number): Promise<void> {
  const gate = deps.budget !== undefined ? gated(body, deps.budget, 1, expectedBytes) : undefined
  try {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of (gate ?? body) as AsyncIterable<Buffer>) {
      size += chunk.length
      // An HTTP/1.1 body cannot outgrow its Content-Length; a caller's wrong figure must not grow the buffer.
      if (size > expectedBytes) throw new Error(`the body is longer than the ${expectedBytes} bytes announced`)
      chunks.push(chunk)
    }
    try {
      await deps.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: Buffer.concat(chunks, size), ContentType: opts.contentType, Metadata: opts.metadata }))
    } catch (err) {
      deps.cleanup.defer(sweep(deps.client, loc), SWEEP_DELAY_MS)
      throw translateS3Error(err)
    }
  } finally {
    gate?.giveBack()
  }
}
