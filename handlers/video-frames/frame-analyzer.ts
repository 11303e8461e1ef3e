// Per-frame statistics computed incrementally: only the current and the previous sample are held.

export interface FrameResult {
  index: number
  timeSeconds: number
  width: number
  height: number
  /** Mean 8-bit luma (0–255) of the sampled frame. */
  meanLuminance: number
  /** Mean absolute per-pixel luma difference (0–255) from the previous sample; null for the first. */
  diffFromPrevious: number | null
}

export interface SceneChange {
  timeSeconds: number
  /** diffFromPrevious / 255, in 0–1. */
  score: number
}

export interface FrameAnalyzerOptions {
  fps: number
  /** Size reported per frame (the source's). */
  width: number
  height: number
  /** Size of the gray frames actually analysed. */
  analysisWidth: number
  analysisHeight: number
  /** A scene change is reported when diffFromPrevious / 255 reaches this. */
  sceneThreshold: number
}

export interface FrameAnalyzer {
  push(frame: Uint8Array): void
  readonly frames: FrameResult[]
  readonly sceneChanges: SceneChange[]
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/**
 * Scene detection: the normalised mean absolute difference between consecutive samples. At 1 fps
 * ordinary motion (a panning camera, ffmpeg's moving testsrc) stays around 0.02–0.05, while a cut
 * to different content moves most pixels by tens of levels (testsrc → red ≈ 0.31, blue → red ≈ 0.18,
 * black → white = 1), hence the default threshold of 0.15 (see index.ts). It is luma only, so a cut
 * between two colours of equal luma is not seen.
 */
export function createFrameAnalyzer(options: FrameAnalyzerOptions): FrameAnalyzer {
  const pixels = options.analysisWidth * options.analysisHeight
  let previous: Uint8Array | undefined
  // Two buffers swapped on every frame: the decoder reuses the buffer it hands us.
  let spare: Uint8Array = new Uint8Array(pixels)
  const frames: FrameResult[] = []
  const sceneChanges: SceneChange[] = []

  return {
    frames,
    sceneChanges,
    push(frame: Uint8Array): void {
      if (frame.length !== pixels) throw new Error(`frame of ${frame.length} bytes, expected ${pixels}`)
      let sum = 0
      let diffSum = 0
      if (previous) {
        for (let i = 0; i < pixels; i++) {
          const value = frame[i]!
          sum += value
          diffSum += Math.abs(value - previous[i]!)
        }
      } else {
        for (let i = 0; i < pixels; i++) sum += frame[i]!
      }
      const index = frames.length
      const timeSeconds = round(index / options.fps, 3)
      const diff = previous ? diffSum / pixels : null
      frames.push({
        index,
        timeSeconds,
        width: options.width,
        height: options.height,
        meanLuminance: round(sum / pixels, 2),
        diffFromPrevious: diff === null ? null : round(diff, 2),
      })
      if (diff !== null && diff / 255 >= options.sceneThreshold) {
        sceneChanges.push({ timeSeconds, score: round(diff / 255, 3) })
      }
      spare.set(frame)
      const next = previous ?? new Uint8Array(pixels)
      previous = spare
      spare = next
    },
  }
}
