import { join } from 'node:path'
import t from 'tap'
import { handler, type VideoAnalysis } from '../../../handlers/video-frames/index.js'
import { makeTestVideo } from '../../helpers/make-video.js'
import { invokeFile, makeContext } from '../invocation-fixtures.js'

const dir = t.testdir()
const mp4 = join(dir, 'testsrc-red.mp4')
t.before(() => makeTestVideo(mp4)) // 2 s testsrc then 1 s red, 320×240

async function analyse(path: string, contentType: string, customAttributes = {}): Promise<VideoAnalysis> {
  const output = await invokeFile(handler, path, contentType, makeContext({ customAttributes }))
  t.equal(output.contentType, 'application/json')
  return JSON.parse(String(output.body)) as VideoAnalysis
}

t.test('a 3 s video at the default 1 fps gives 3 frames at t=0,1,2', async (t) => {
  const result = await analyse(mp4, 'video/mp4')
  t.equal(result.fps, 1)
  t.equal(result.durationSeconds, 3)
  t.equal(result.frameCount, 3)
  t.same(result.frames.map((f) => f.timeSeconds), [0, 1, 2])
  t.same(result.frames.map((f) => f.index), [0, 1, 2])
  t.match(result, { width: 320, height: 240 })
  t.match(result.frames[0], { width: 320, height: 240, diffFromPrevious: null })
})

t.test('fps=2 from the custom attributes gives 6 frames half a second apart', async (t) => {
  const result = await analyse(mp4, 'video/mp4', { fps: '2' })
  t.equal(result.fps, 2)
  t.equal(result.frameCount, 6)
  t.same(result.frames.map((f) => f.timeSeconds), [0, 0.5, 1, 1.5, 2, 2.5])
})

t.test('the cut from testsrc to red is one scene change at t=2', async (t) => {
  const result = await analyse(mp4, 'video/mp4')
  t.equal(result.sceneChanges.length, 1)
  t.equal(result.sceneChanges[0]?.timeSeconds, 2)
  t.ok(result.sceneChanges[0]!.score >= result.sceneThreshold)
  t.ok(result.frames[1]!.diffFromPrevious! < 0.1 * 255, 'testsrc motion is not a scene change')
})

t.test('black frames are darker than white ones', async (t) => {
  const path = join(dir, 'black-white.mp4')
  await makeTestVideo(path, { segments: [{ seconds: 1, source: 'black' }, { seconds: 1, source: 'white' }] })
  const result = await analyse(path, 'video/mp4')
  t.equal(result.frameCount, 2)
  const [black, white] = result.frames
  t.ok(black!.meanLuminance < 30, `black mean ${black!.meanLuminance}`)
  t.ok(white!.meanLuminance > 225, `white mean ${white!.meanLuminance}`)
  t.ok(white!.diffFromPrevious! > 200)
  t.same(result.sceneChanges.map((s) => s.timeSeconds), [1])
})

t.test('webm and mov inputs are sampled the same way', async (t) => {
  for (const [ext, type] of [['webm', 'video/webm'], ['mov', 'video/quicktime']] as const) {
    const path = join(dir, `clip.${ext}`)
    await makeTestVideo(path, { segments: [{ seconds: 3, source: 'testsrc' }], width: 160, height: 120 })
    const result = await analyse(path, type)
    t.equal(result.frameCount, 3, ext)
    t.match(result, { width: 160, height: 120 }, ext)
  }
})
