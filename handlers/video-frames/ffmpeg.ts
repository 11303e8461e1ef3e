// Runs the static ffmpeg that ships with @ffmpeg-installer/ffmpeg (never a system binary), reading
// the spooled temp file by path: mp4/mov need a seekable input because `moov` may sit at the end.
import { spawn } from 'node:child_process'
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg'
import { HandlerError } from '../handler.js'

export const ffmpegPath: string = ffmpegInstaller.path

/** Demuxers by declared media type, see inputArgs. */
const DEMUXER_BY_TYPE: Record<string, string> = {
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'video/webm': 'matroska',
}

const STDERR_TAIL_BYTES = 16 * 1024

export interface VideoProbe {
  codec: string
  /** Display size (after the rotation ffmpeg applies on decode). */
  width: number
  height: number
  /** null when the container does not say (e.g. a live-recorded webm). */
  durationSeconds: number | null
}

/**
 * Input options shared by probe and decode. The demuxer is forced from the declared media type so
 * that ffmpeg never content-sniffs an upload into a playlist/concat demuxer (those can open other
 * files or URLs); only the `file` protocol is allowed for the same reason.
 */
function inputArgs(path: string, mediaType: string): string[] {
  const demuxer = DEMUXER_BY_TYPE[mediaType]
  if (demuxer === undefined) throw new HandlerError(415, `unsupported content type ${mediaType}`)
  return ['-protocol_whitelist', 'file', '-f', demuxer, '-i', path]
}

const GLOBAL_ARGS = ['-hide_banner', '-nostdin']

interface RunResult {
  code: number | null
  stderr: string
}

/** Spawns ffmpeg, feeds stdout chunks to onStdout (awaited: backpressure), keeps a stderr tail. */
async function runFfmpeg(
  args: string[],
  signal: AbortSignal,
  onStdout?: (chunk: Buffer) => void,
): Promise<RunResult> {
  signal.throwIfAborted()
  // `signal` kills the child when the client disconnects or the invocation times out.
  const child = spawn(ffmpegPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
    killSignal: 'SIGKILL',
  })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL_BYTES)
  })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('close', (code) => resolve(code))
    // Without a pid the spawn itself failed (no 'close' follows). A started child that is killed
    // (the abort) also emits 'error', then 'close': wait for that so no ffmpeg outlives the call.
    child.once('error', (err) => {
      if (child.pid === undefined) reject(err)
    })
  })
  // Keep a spawn failure from going unhandled while stdout is still being read.
  exited.catch(() => {})
  try {
    if (onStdout) {
      for await (const chunk of child.stdout) onStdout(chunk as Buffer)
    } else {
      child.stdout.resume()
    }
    const code = await exited
    signal.throwIfAborted()
    return { code, stderr }
  } catch (err) {
    child.kill('SIGKILL') // no-op when it already exited
    await exited.catch(() => {})
    signal.throwIfAborted()
    throw err
  }
}

/**
 * ffmpeg's own reason, short enough for a failure object: the last two distinct stderr lines,
 * without our temp path or the "[mov,mp4,... @ 0x55d0]" prefixes, e.g.
 * "moov atom not found; Invalid data found when processing input".
 */
export function ffmpegReason(stderr: string, path: string): string {
  const lines = stderr
    .split('\n')
    .map((line) =>
      line
        .split(`${path}: `)
        .join('')
        .split(path)
        .join('input')
        .replace(/^\[[^\]]* @ 0x[0-9a-f]+\] /, '')
        .trim(),
    )
    .filter((line) => line !== '' && !line.startsWith('At least one output file'))
  const reason = [...new Set(lines.slice(-2))].join('; ') || 'ffmpeg could not read the input'
  return reason.length > 300 ? `${reason.slice(0, 300)}...` : reason
}

function parseDuration(stderr: string): number | null {
  const match = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(stderr)
  if (!match) return null
  const [, h, m, s] = match
  return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000) / 1000
}

/** Reads the container header with `ffmpeg -i` (no output: exits 1 by design) and parses stderr. */
export async function probeVideo(path: string, mediaType: string, signal: AbortSignal): Promise<VideoProbe> {
  const { stderr } = await runFfmpeg([...GLOBAL_ARGS, ...inputArgs(path, mediaType)], signal)
  if (!stderr.includes('Input #0')) {
    throw new HandlerError(400, `cannot decode ${mediaType} input: ${ffmpegReason(stderr, path)}`)
  }
  const streamLine = /Stream #\d+:\d+.*?: Video: (.*)/.exec(stderr)
  if (!streamLine?.[1]) throw new HandlerError(400, `no video stream in the ${mediaType} input`)
  // The size follows a comma; "(avc1 / 0x31637661)" must not match, hence the leading ", ".
  const size = /, (\d+)x(\d+)(?=[\s,]|$)/.exec(streamLine[1])
  if (!size) throw new HandlerError(400, `cannot read the video size of the ${mediaType} input`)
  let width = Number(size[1])
  let height = Number(size[2])
  // Phone videos carry a rotation; ffmpeg rotates while decoding, so report the displayed size.
  const rotate = /rotate\s*:\s*(-?\d+)/.exec(stderr) ?? /rotation of (-?[\d.]+) degrees/.exec(stderr)
  if (rotate && Math.abs(Math.round(Number(rotate[1]))) % 180 === 90) [width, height] = [height, width]
  if (width === 0 || height === 0) throw new HandlerError(400, `the ${mediaType} input has an empty video size`)
  return {
    codec: (streamLine[1].split(/[\s,]/)[0] ?? 'unknown').trim(),
    width,
    height,
    durationSeconds: parseDuration(stderr),
  }
}

export interface DecodeOptions {
  path: string
  mediaType: string
  fps: number
  width: number
  height: number
  signal: AbortSignal
  /** Called once per sampled frame with width×height gray bytes; the buffer is reused afterwards. */
  onFrame(frame: Buffer): void
}

export interface DecodeResult {
  frames: number
  /** Errors ffmpeg reported while still finishing (e.g. a truncated file), for the output. */
  warnings: string[]
}

/**
 * Decodes the first video stream, resampled by the fps filter, scaled to the analysis size and
 * converted to 8-bit gray, as raw frames on stdout. `round=up` makes sample k the frame on screen at
 * exactly k/fps (the latest with pts ≤ k/fps), so a clip of d seconds gives ceil(d·fps) samples:
 * with the default `near` rounding a 1 s clip at 0.1 fps gave none, and samples came from up to half
 * an interval later than their time.
 * Frames are cut out of the stream one at a time into a reused buffer: memory does not depend on
 * the input's length.
 */
export async function decodeGrayFrames(options: DecodeOptions): Promise<DecodeResult> {
  const { path, mediaType, fps, width, height, signal, onFrame } = options
  const frameBytes = width * height
  const frame = Buffer.allocUnsafe(frameBytes)
  let filled = 0
  let frames = 0
  const args = [
    ...GLOBAL_ARGS,
    '-v',
    'error',
    ...inputArgs(path, mediaType),
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-vf',
    `fps=fps=${fps}:round=up,scale=${width}:${height},format=gray`,
    '-f',
    'rawvideo',
    'pipe:1',
  ]
  const { code, stderr } = await runFfmpeg(args, signal, (chunk) => {
    let offset = 0
    while (offset < chunk.length) {
      const take = Math.min(frameBytes - filled, chunk.length - offset)
      chunk.copy(frame, filled, offset, offset + take)
      filled += take
      offset += take
      if (filled === frameBytes) {
        onFrame(frame)
        frames += 1
        filled = 0
      }
    }
  })
  if (code !== 0) {
    throw new HandlerError(400, `cannot decode ${mediaType} input: ${ffmpegReason(stderr, path)}`)
  }
  const warnings = [...new Set(stderr.split('\n').map((line) => line.split(path).join('input').trim()))]
    .filter((line) => line !== '')
    .slice(0, 5)
  return { frames, warnings }
}
