/**
 * Checks that a body declared as a video starts like one, so a mislabelled upload is refused (415)
 * before anything is stored. Only container signatures are checked, not whole files.
 */
export const SNIFF_BYTES = 12

// ISO BMFF (mp4, QuickTime): a box size (4 bytes) then a four-character box type. Files normally
// start with `ftyp`; older QuickTime files may start with `moov`, `mdat`, `wide`, `free`, `skip` or `pnot`.
const isoBoxTypes = new Set(['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip', 'pnot'])
// Matroska/WebM: the EBML magic number.
const ebml = Buffer.from([0x1a, 0x45, 0xdf, 0xa3])

const sniffers: Record<string, (head: Buffer) => boolean> = {
  'video/mp4': (head) => head.length >= 8 && isoBoxTypes.has(head.toString('latin1', 4, 8)),
  'video/quicktime': (head) => head.length >= 8 && isoBoxTypes.has(head.toString('latin1', 4, 8)),
  'video/webm': (head) => head.subarray(0, 4).equals(ebml),
  'video/x-matroska': (head) => head.subarray(0, 4).equals(ebml),
}

/** The video container `head` starts like, if any (for an upload sent without a useful type). */
export function detectSignature(head: Buffer): string | undefined {
  if (head.length >= 8 && isoBoxTypes.has(head.toString('latin1', 4, 8))) {
    // An ftyp box whose major brand is QuickTime's.
    return head.length >= 12 && head.toString('latin1', 4, 12) === 'ftypqt  ' ? 'video/quicktime' : 'video/mp4'
  }
  if (head.subarray(0, 4).equals(ebml)) return 'video/webm'
  return undefined
}

/** undefined: no signature known for this type; otherwise whether `head` matches it. */
export function matchesSignature(essence: string, head: Buffer): boolean | undefined {
  const sniff = sniffers[essence]
  return sniff === undefined ? undefined : sniff(head)
}
