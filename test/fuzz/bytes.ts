/** Wire helpers: every request here is a latin1 string, one character per byte. */

/** UTF-8 bytes of `s`, as a latin1 string. */
export const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1')

/** Every byte of `s` percent-encoded, with upper- or lower-case hex digits. */
export const pct = (s: string, upper = true): string =>
  [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('')

/** node:http refuses control characters and spaces in a path: those go percent-encoded (framing.ts sends them raw). */
export const pathSafe = (s: string): string => s.replace(/[\x00-\x20]/g, (c) => pct(c))

/** `seed` repeated to exactly `n` characters. */
export const sized = (seed: string, n: number): string => seed.repeat(Math.ceil(n / Math.max(1, seed.length))).slice(0, n)

/** The first bytes of an mp4 and of a WebM file: enough for the gateway's signature check, nothing more. */
export const MP4_HEAD = '\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom'
export const WEBM_HEAD = '\x1a\x45\xdf\xa3'
