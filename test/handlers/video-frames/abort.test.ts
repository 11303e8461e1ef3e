import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { handler } from '../../../handlers/video-frames/index.js'
import { makeTestVideo } from '../../helpers/make-video.js'
import { invokeFile, makeContext } from '../invocation-fixtures.js'

/**
 * Pids of this process's ffmpeg children, optionally only those whose command line contains `arg`.
 * Reads the kernel's children list instead of scanning all of /proc, so the check is quick and
 * the abort lands while the decode is still running even on a loaded machine.
 */
async function ffmpegChildren(arg?: string): Promise<number[]> {
  const tasks = await readdir(`/proc/${process.pid}/task`)
  const pids = (await Promise.all(tasks.map((tid) => readFile(`/proc/${process.pid}/task/${tid}/children`, 'utf8').catch(() => ''))))
    .join(' ')
    .split(/\s+/)
    .filter((p) => p !== '')
  const found: number[] = []
  for (const pid of pids) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
    if (cmdline[0]?.endsWith('ffmpeg') && (arg === undefined || cmdline.includes(arg))) found.push(Number(pid))
  }
  return found
}

t.test('aborting ctx.signal kills the running ffmpeg', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const path = join(t.testdir(), 'long.mp4')
  await makeTestVideo(path, { segments: [{ seconds: 60, source: 'testsrc' }], width: 640, height: 480 })
  const controller = new AbortController()
  const work = invokeFile(handler, path, 'video/mp4', makeContext({ signal: controller.signal, customAttributes: { fps: '30' } }))
  const outcome = work.then(
    () => 'completed',
    (err: unknown) => err,
  )
  let running: number[] = []
  while (running.length === 0) {
    const settled = await Promise.race([outcome, sleep(5).then(() => undefined)])
    if (settled !== undefined) break
    // Wait for the frame decode itself (its output is rawvideo), not the short probe before it.
    running = await ffmpegChildren('rawvideo')
  }
  t.ok(running.length > 0, 'ffmpeg was seen running')
  controller.abort(new Error('client went away'))
  t.match(await outcome, { message: 'client went away' })
  t.same(await ffmpegChildren(), [], 'no ffmpeg left running')
})
