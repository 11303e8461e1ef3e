import t from 'tap'
import { startTestStack } from '../helpers/stack.js'

const MiB = 1024 * 1024

t.test('uploads that need more than upload.maxBufferedBytes together all complete, taking turns', async (t) => {
  const it = await startTestStack(t, {
    models: { blob: { mode: 'async', endpointName: 'summarize-async', contentTypes: ['application/octet-stream'], maxBytes: 64 * MiB } },
    // One part of room (5 MiB parts) for six uploads of 11 MiB: each must wait for the others.
    configure: (c) => ({ ...c, upload: { ...c.upload, maxBufferedBytes: 5 * MiB } }),
  })
  const body = Buffer.alloc(11 * MiB, 7)
  const send = (chunked: boolean) =>
    fetch(`${it.baseUrl}/models/blob/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...(chunked ? {} : { 'content-length': String(body.length) }) },
      // A stream has no length: the upload reserves whole parts.
      body: chunked ? new Blob([body]).stream() : body,
      ...(chunked ? { duplex: 'half' } : {}),
    } as RequestInit).then((r) => r.status)
  const statuses = await Promise.all([send(false), send(false), send(false), send(true), send(true), send(true)])
  t.same(statuses, [202, 202, 202, 202, 202, 202])
  t.equal(await it.openUploads(), 0)
  const metrics = await (await fetch(`${it.baseUrl}/metrics`)).text()
  t.match(metrics, /sagegate_upload_buffer_bytes 0\n/, 'all room given back')
  t.match(metrics, /sagegate_uploads_waiting_for_buffer 0\n/)
})
