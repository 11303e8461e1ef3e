// video-frames: samples a video at a fixed rate (1 frame per second unless the `fps` custom attribute
// says otherwise) and reports per-frame luma statistics and scene changes. Built for SageMaker async
// inference: inputs up to 1 GiB are read from the spooled file by ffmpeg and analysed frame by frame.
import { access, constants } from 'node:fs/promises'
import {
  type Handler,
  type HandlerOutput,
  HandlerError,
  negotiateAccept,
  requireContentType,
} from '../handler.js'
import { decodeGrayFrames, ffmpegPath, probeVideo } from './ffmpeg.js'
import { createFrameAnalyzer, type FrameResult, type SceneChange } from './frame-analyzer.js'

export const CONTENT_TYPES = ['video/mp4', 'video/quicktime', 'video/webm'] as const
export const DEFAULT_FPS = 1
export const MIN_FPS = 0.1
export const MAX_FPS = 30
/** See frame-analyzer.ts for how this was chosen. Override with `scene_threshold=` (0–1). */
export const DEFAULT_SCENE_THRESHOLD = 0.15
/** Frames are analysed at this width at most: statistics do not need more, and it keeps CPU low. */
export const ANALYSIS_MAX_WIDTH = 160

export interface VideoModel {
  ffmpegPath: string
}

export interface VideoInput {
  path: string
  mediaType: string
  fps: number
  sceneThreshold: number
}

export interface VideoAnalysis {
  fps: number
  codec: string
  durationSeconds: number | null
  width: number
  height: number
  analysisWidth: number
  analysisHeight: number
  sceneThreshold: number
  frameCount: number
  frames: FrameResult[]
  sceneChanges: SceneChange[]
  warnings: string[]
}

function numberAttribute(
  attributes: Record<string, string>,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = attributes[key]
  if (raw === undefined) return fallback
  const value = raw.trim() === '' ? Number.NaN : Number(raw)
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new HandlerError(400, `custom attribute ${key} must be a number from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

/** Even dimensions at most ANALYSIS_MAX_WIDTH wide, keeping the aspect ratio. */
export function analysisSize(width: number, height: number): { width: number; height: number } {
  const even = (value: number): number => Math.max(2, Math.round(value / 2) * 2)
  const targetWidth = even(Math.min(ANALYSIS_MAX_WIDTH, width))
  return { width: targetWidth, height: even((targetWidth * height) / width) }
}

export const handler: Handler<VideoModel, VideoInput, VideoAnalysis> = {
  async modelFn() {
    // Fail /ping early if the npm ffmpeg binary is missing (e.g. install scripts were skipped).
    await access(ffmpegPath, constants.X_OK)
    return { ffmpegPath }
  },

  inputFn(body, contentType, ctx) {
    const mediaType = requireContentType(contentType, CONTENT_TYPES)
    // outputFn checks again; refusing an impossible Accept here saves decoding a 1 GiB video first.
    negotiateAccept(ctx.accept, ['application/json'], 'application/json')
    if (body.sizeBytes === 0) throw new HandlerError(400, 'the request body is empty')
    return {
      path: body.path,
      mediaType,
      fps: numberAttribute(ctx.customAttributes, 'fps', DEFAULT_FPS, MIN_FPS, MAX_FPS),
      sceneThreshold: numberAttribute(ctx.customAttributes, 'scene_threshold', DEFAULT_SCENE_THRESHOLD, 0, 1),
    }
  },

  async predictFn(input, _model, ctx) {
    const probe = await probeVideo(input.path, input.mediaType, ctx.signal)
    const size = analysisSize(probe.width, probe.height)
    const analyzer = createFrameAnalyzer({
      fps: input.fps,
      width: probe.width,
      height: probe.height,
      analysisWidth: size.width,
      analysisHeight: size.height,
      sceneThreshold: input.sceneThreshold,
    })
    const { warnings } = await decodeGrayFrames({
      path: input.path,
      mediaType: input.mediaType,
      fps: input.fps,
      width: size.width,
      height: size.height,
      signal: ctx.signal,
      onFrame: (frame) => analyzer.push(frame),
    })
    if (analyzer.frames.length === 0) {
      throw new HandlerError(400, `no frame could be decoded from the ${input.mediaType} input`)
    }
    if (warnings.length > 0) ctx.logger.warn({ warnings }, 'ffmpeg reported decode errors')
    return {
      fps: input.fps,
      codec: probe.codec,
      durationSeconds: probe.durationSeconds,
      width: probe.width,
      height: probe.height,
      analysisWidth: size.width,
      analysisHeight: size.height,
      sceneThreshold: input.sceneThreshold,
      frameCount: analyzer.frames.length,
      frames: analyzer.frames,
      sceneChanges: analyzer.sceneChanges,
      warnings,
    }
  },

  outputFn(prediction, accept): HandlerOutput {
    const contentType = negotiateAccept(accept, ['application/json'], 'application/json')
    return { body: JSON.stringify(prediction), contentType }
  },
}
