import t from 'tap'
import { createFrameAnalyzer } from '../../../handlers/video-frames/frame-analyzer.js'

const options = { fps: 2, width: 640, height: 480, analysisWidth: 4, analysisHeight: 2, sceneThreshold: 0.15 }

t.test('mean luminance and difference from the previous sample', async (t) => {
  const analyzer = createFrameAnalyzer(options)
  analyzer.push(new Uint8Array([0, 0, 0, 0, 100, 100, 100, 100]))
  analyzer.push(new Uint8Array([10, 10, 10, 10, 90, 90, 90, 90]))
  t.same(analyzer.frames, [
    { index: 0, timeSeconds: 0, width: 640, height: 480, meanLuminance: 50, diffFromPrevious: null },
    { index: 1, timeSeconds: 0.5, width: 640, height: 480, meanLuminance: 50, diffFromPrevious: 10 },
  ])
  t.same(analyzer.sceneChanges, [])
})

t.test('a difference at the threshold is a scene change, just below is not', async (t) => {
  const analyzer = createFrameAnalyzer({ ...options, sceneThreshold: 0.2 })
  analyzer.push(new Uint8Array(8).fill(0))
  analyzer.push(new Uint8Array(8).fill(50)) // 50/255 = 0.196
  analyzer.push(new Uint8Array(8).fill(101)) // 51/255 = 0.2
  t.same(analyzer.sceneChanges, [{ timeSeconds: 1, score: 0.2 }])
})

t.test('the caller may reuse its frame buffer between pushes', async (t) => {
  const analyzer = createFrameAnalyzer(options)
  const buffer = new Uint8Array(8).fill(0)
  analyzer.push(buffer)
  buffer.fill(255)
  analyzer.push(buffer)
  t.equal(analyzer.frames[1]?.diffFromPrevious, 255)
})

t.test('a frame of the wrong size is refused', async (t) => {
  t.throws(() => createFrameAnalyzer(options).push(new Uint8Array(7)))
})
