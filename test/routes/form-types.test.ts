import t from 'tap'
import { buildTestApp, mp4Head } from '../helpers/app.js'

const webmHead = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.alloc(60, 1)])

/** One form with a file part as curl -F sends it: a file name, and application/octet-stream unless ;type= is given. */
function form(part: { filename?: string; type?: string; body: Buffer }) {
  const boundary = 'b0undary'
  const disposition = `form-data; name="file"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`
  const payload = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type !== undefined ? `Content-Type: ${part.type}\r\n` : ''}\r\n`),
    part.body,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload }
}

t.test('a form part without a useful type gets one from its file name, else from its first bytes', async (t) => {
  const { app, store } = await buildTestApp()
  t.teardown(() => app.close())
  const post = (model: string, part: Parameters<typeof form>[0]) => app.inject({ method: 'POST', url: `/models/${model}/jobs`, ...form(part) })

  const byName = await post('video', { filename: 'clip.MP4', type: 'application/octet-stream', body: mp4Head })
  t.equal(byName.statusCode, 202, 'curl -F file=@clip.mp4')
  t.equal(byName.json().input.contentType, 'video/mp4')
  const text = await post('text', { filename: 'article.txt', type: 'application/octet-stream', body: Buffer.from('A text.') })
  t.equal(text.statusCode, 202)
  t.equal(text.json().input.contentType, 'text/plain')

  const bySignature = await post('video', { filename: 'upload', type: 'application/octet-stream', body: webmHead })
  t.equal(bySignature.statusCode, 202, 'no extension: the WebM signature decides')
  t.equal(bySignature.json().input.contentType, 'video/webm')
  const noType = await post('video', { filename: 'blob', body: mp4Head })
  t.equal(noType.statusCode, 202, 'a part with no Content-Type at all (text/plain by RFC 7578)')
  t.equal(noType.json().input.contentType, 'video/mp4')

  // The inferred type is checked like a declared one: the model's types, and the content's signature.
  const image = await post('video', { filename: 'photo.png', type: 'application/octet-stream', body: mp4Head })
  t.equal(image.statusCode, 415)
  const liar = await post('video', { filename: 'clip.mp4', type: 'application/octet-stream', body: Buffer.from('not a video at all') })
  t.match(liar.json(), { status: 415, code: 'content_mismatch' })
  const unknown = await post('video', { filename: 'data', type: 'application/octet-stream', body: Buffer.from('no signature here') })
  t.equal(unknown.statusCode, 415)
  t.equal(store.keys().filter((k) => k.endsWith('/input')).length, 4, 'the four accepted uploads, nothing of the refused ones')
})
