import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { handler } from '../../../handlers/video-frames/index.js'
import { makeTestVideo } from '../../helpers/make-video.js'
import { invokeBytes, invokeFile, makeContext } from '../invocation-fixtures.js'

const dir = t.testdir()
const mp4 = join(dir, 'clip.mp4')
t.before(() => makeTestVideo(mp4, { segments: [{ seconds: 1, source: 'testsrc' }], width: 64, height: 48 }))

t.test('bytes that are not a video are a 400 with ffmpeg\'s reason', async (t) => {
  const error = await invokeBytes(handler, dir, 'this is plain text, not a video', 'video/mp4').then(
    () => undefined,
    (err: unknown) => err as { statusCode: number; message: string },
  )
  t.equal(error?.statusCode, 400)
  t.match(error?.message, /cannot decode video\/mp4 input: .*(moov atom not found|Invalid data)/)
  t.notMatch(error?.message, dir, 'the temp path is not leaked')
  t.notMatch(error?.message, /@ 0x/, 'no ffmpeg log prefixes')
})

t.test('an mp4 declared as webm is a 400, not a content sniff', async (t) => {
  await t.rejects(invokeFile(handler, mp4, 'video/webm'), { name: 'HandlerError', statusCode: 400 })
})

t.test('fps outside 0.1–30 or not a number is a 400', async (t) => {
  for (const fps of ['0', '0.05', '31', 'abc', '']) {
    await t.rejects(
      invokeFile(handler, mp4, 'video/mp4', makeContext({ customAttributes: { fps } })),
      { statusCode: 400, message: /fps must be a number from 0.1 to 30/ },
      `fps=${fps}`,
    )
  }
})

t.test('fps at the bounds is accepted', async (t) => {
  const low = await invokeFile(handler, mp4, 'video/mp4', makeContext({ customAttributes: { fps: '0.1' } }))
  t.equal(JSON.parse(String(low.body)).frameCount, 1)
  const high = await invokeFile(handler, mp4, 'video/mp4', makeContext({ customAttributes: { fps: '30' } }))
  t.equal(JSON.parse(String(high.body)).frameCount, 30)
})

t.test('a content type other than mp4, quicktime or webm is a 415', async (t) => {
  await t.rejects(invokeFile(handler, mp4, 'image/png'), { name: 'HandlerError', statusCode: 415 })
})

t.test('an Accept the handler cannot produce is a 406', async (t) => {
  await t.rejects(invokeFile(handler, mp4, 'video/mp4', makeContext({ accept: 'text/csv' })), { name: 'HandlerError', statusCode: 406 })
})

t.test('an empty body is a 400', async (t) => {
  const empty = join(dir, 'empty.mp4')
  await writeFile(empty, '')
  await t.rejects(invokeFile(handler, empty, 'video/mp4'), { statusCode: 400, message: /empty/ })
})

t.test('an aborted signal stops the work', async (t) => {
  const controller = new AbortController()
  controller.abort(new Error('client went away'))
  await t.rejects(invokeFile(handler, mp4, 'video/mp4', makeContext({ signal: controller.signal })), {
    message: 'client went away',
  })
})
