import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { Readable } from 'node:stream'
import t from 'tap'
import { BUCKET, dataFiles, errorOf, startS3, until } from './helpers.js'
import { openRaw } from './raw-http.js'

const MiB = 1024 * 1024

t.test('aborting an in-flight lib-storage Upload leaves no upload and no part files', async (t) => {
  const { client, dataDir } = await startS3(t)
  let sent = 0
  // An endless source: the upload can only end by being aborted.
  const source = new Readable({
    read() {
      sent += MiB
      setImmediate(() => this.push(Buffer.alloc(MiB, sent % 251)))
    },
  })
  const upload = new Upload({ client, params: { Bucket: BUCKET, Key: 'aborted.bin', Body: source }, partSize: 5 * MiB, queueSize: 2 })
  let partsDone = 0
  upload.on('httpUploadProgress', (p) => {
    if (p.part !== undefined) partsDone++
  })
  const done = upload.done()
  await until(async () => partsDone >= 2, 'two parts uploaded')
  const during = await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))
  t.equal(during.Uploads?.length, 1, 'the upload was in progress when aborted')
  t.ok((await dataFiles(dataDir)).length > 0, 'parts were on disk when aborted')
  await upload.abort()
  const err = await errorOf(done)
  t.equal(err.name, 'AbortError')
  source.destroy()
  // lib-storage sends AbortMultipartUpload once its in-flight parts have settled.
  await until(async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads === undefined, 'upload aborted')
  await until(async () => (await dataFiles(dataDir)).length === 0, 'part files removed')
  const head = await errorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'aborted.bin' })))
  t.equal(head.name, 'NotFound')
})

t.test('a part still being received when the upload is aborted is removed when it finishes', async (t) => {
  const { server, client, dataDir } = await startS3(t)
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'slow' }))
  const size = 2 * MiB
  const { req, response } = await openRaw(server.url, {
    method: 'PUT',
    path: `/${BUCKET}/slow`,
    query: { partNumber: '1', uploadId: UploadId! },
    headers: { 'content-length': String(size), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  })
  req.write(Buffer.alloc(MiB, 1))
  await until(async () => (await dataFiles(dataDir)).some((f) => f.startsWith('tmp/')), 'part being received')
  await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'slow', UploadId }))
  req.end(Buffer.alloc(MiB, 2))
  const res = await response
  t.equal(res.status, 404)
  t.match(res.body, /<Code>NoSuchUpload<\/Code>/)
  t.same(await dataFiles(dataDir), [], 'nothing left on disk')
})

t.test('a client that disconnects mid PutObject leaves no object and no temp file', async (t) => {
  const { server, client, dataDir } = await startS3(t)
  const { req, response } = await openRaw(server.url, {
    method: 'PUT',
    path: `/${BUCKET}/cut`,
    headers: { 'content-length': String(8 * MiB), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
  })
  response.catch(() => undefined)
  req.write(Buffer.alloc(MiB, 1))
  await until(async () => (await dataFiles(dataDir)).some((f) => f.startsWith('tmp/')), 'body being received')
  req.destroy()
  await until(async () => (await dataFiles(dataDir)).length === 0, 'temp file removed')
  const head = await errorOf(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cut' })))
  t.equal(head.name, 'NotFound')
})
