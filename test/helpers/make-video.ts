// Generates real test videos with the npm ffmpeg (lavfi sources, concatenated so that the boundary
// between two sources is a scene change).
import { execFile } from 'node:child_process'
import { extname } from 'node:path'
import { promisify } from 'node:util'
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg'

const run = promisify(execFile)

export type VideoSource = 'testsrc' | 'red' | 'blue' | 'black' | 'white'
export type VideoContainer = 'mp4' | 'webm' | 'mov'

export interface TestVideoOptions {
  /** Default: 2 s of testsrc then 1 s of red (3 s, a scene change at t=2). */
  segments?: Array<{ seconds: number; source: VideoSource }>
  /** Default 320×240; keep both even (yuv420p). */
  width?: number
  height?: number
  /** Default: from the file extension (.webm, .mov), else mp4. */
  container?: VideoContainer
}

const FRAME_RATE = 25

let encoders: Promise<string> | undefined

/** `ffmpeg -encoders`, read once: the static build decides which encoders exist. */
function listEncoders(): Promise<string> {
  encoders ??= run(ffmpegInstaller.path, ['-hide_banner', '-encoders'], { maxBuffer: 4 * 1024 * 1024 }).then(
    ({ stdout }) => stdout,
  )
  return encoders
}

async function pickEncoder(container: VideoContainer): Promise<string[]> {
  const available = await listEncoders()
  const has = (name: string): boolean => new RegExp(`^\\s*V\\S*\\s+${name}\\s`, 'm').test(available)
  if (container === 'webm') {
    if (has('libvpx')) return ['-c:v', 'libvpx', '-b:v', '1M', '-deadline', 'realtime', '-cpu-used', '8']
    if (has('libvpx-vp9')) return ['-c:v', 'libvpx-vp9', '-b:v', '1M', '-deadline', 'realtime', '-cpu-used', '8']
    throw new Error('this ffmpeg has no VP8/VP9 encoder for webm')
  }
  if (has('libx264')) return ['-c:v', 'libx264', '-preset', 'ultrafast']
  if (has('mpeg4')) return ['-c:v', 'mpeg4', '-q:v', '5']
  throw new Error('this ffmpeg has neither libx264 nor mpeg4')
}

function sourceFilter(source: VideoSource, seconds: number, width: number, height: number): string {
  const common = `size=${width}x${height}:rate=${FRAME_RATE}:duration=${seconds}`
  return source === 'testsrc' ? `testsrc=${common}` : `color=c=${source}:${common}`
}

function containerOf(filePath: string): VideoContainer {
  const ext = extname(filePath).toLowerCase()
  return ext === '.webm' ? 'webm' : ext === '.mov' ? 'mov' : 'mp4'
}

/**
 * Writes a video to filePath. mp4/mov keep ffmpeg's default layout with `moov` at the end, the case
 * that needs a seekable input.
 */
export async function makeTestVideo(filePath: string, options: TestVideoOptions = {}): Promise<void> {
  const segments = options.segments ?? [
    { seconds: 2, source: 'testsrc' },
    { seconds: 1, source: 'red' },
  ]
  if (segments.length === 0) throw new Error('makeTestVideo needs at least one segment')
  const width = options.width ?? 320
  const height = options.height ?? 240
  const container = options.container ?? containerOf(filePath)
  const inputs = segments.flatMap(({ seconds, source }) => ['-f', 'lavfi', '-i', sourceFilter(source, seconds, width, height)])
  const labels = segments.map((_, i) => `[${i}:v]`).join('')
  await run(ffmpegInstaller.path, [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    `${labels}concat=n=${segments.length}:v=1:a=0,format=yuv420p[v]`,
    '-map',
    '[v]',
    ...(await pickEncoder(container)),
    '-f',
    container,
    filePath,
  ])
}
