/**
 * multipart/form-data bodies for POST /models/{name}/jobs, well-formed and broken: wrong or missing
 * boundaries, parts without a blank line, truncated bodies, fields the route does not know, a file in
 * the wrong field, two files, too many parts, oversized fields, non-ASCII names. Bodies are latin1
 * strings, like everything on the wire here.
 */
import fc from 'fast-check'
import { utf8 } from './bytes.js'

export interface Form {
  contentType: string
  body: string
}

interface Part {
  name: string
  filename?: string
  type?: string
  content: string
}

const boundaryArb = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9'()+_,.\/:=?-]{1,70}$/) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(71), 'x'.repeat(300), 'a b', '"quoted"', '--', '-', 'ü') },
)

function partText(p: Part, eol: string): string {
  const disposition = `Content-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`
  const type = p.type !== undefined ? `${eol}Content-Type: ${p.type}` : ''
  return `${disposition}${type}${eol}${eol}${p.content}`
}

/** The body of a form with these parts, delimited by `boundary` (RFC 7578, RFC 2046 §5.1.1). */
export function formBody(boundary: string, parts: Part[], eol = '\r\n', closed = true): string {
  const open = parts.map((p) => `--${boundary}${eol}${partText(p, eol)}${eol}`).join('')
  return `${open}${closed ? `--${boundary}--${eol}` : ''}`
}

const content = fc.oneof(
  fc.constantFrom('', 'The council met. It approved the budget.', '\x00\x00\x00\x18ftypmp42junkjunk', '\x1a\x45\xdf\xa3junk', '--', '\r\n--'),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.string({ unit: 'grapheme', maxLength: 100 }).map(utf8),
)

function part(types: string[]): fc.Arbitrary<Part> {
  const type = fc.option(fc.oneof(fc.constantFrom(...types), fc.constantFrom('text/plain', 'video/mp4', 'application/octet-stream', '', 'x', utf8('tëxt/plain'))), { nil: undefined })
  const name = fc.oneof(
    { weight: 4, arbitrary: fc.constant('file') },
    { weight: 1, arbitrary: fc.constantFrom('customAttributes', 'colour', 'File', 'file ', '', '__proto__', 'constructor', utf8('fïle'), 'x'.repeat(300)) },
  )
  const filename = fc.option(fc.oneof(fc.constantFrom('a.txt', 'clip.mp4', '../../etc/passwd', '', 'x'.repeat(1000), 'a"b', '\\\\host\\share'), fc.string({ unit: 'grapheme', maxLength: 20 }).map(utf8)), { nil: undefined })
  return fc.record({ name, filename, type, content }).map((p) => {
    const out: Part = { name: p.name, content: p.content }
    if (p.filename !== undefined) out.filename = p.filename
    if (p.type !== undefined) out.type = p.type
    return out
  })
}

/** Forms for a model accepting `types`: most well-formed, many broken in one way. */
export function multipartBody(types: string[]): fc.Arbitrary<Form> {
  const accepted = types.map((t) => (t.includes('*') ? 'application/octet-stream' : t))
  const file = fc.record({ type: fc.constantFrom(...accepted), content, filename: fc.constantFrom('a.txt', 'clip.mp4', 'x') })
  const good = fc.record({
    boundary: boundaryArb,
    attrs: fc.option(fc.constantFrom('fps=2', 'a=b', 'x'.repeat(5000), utf8('é=1')), { nil: undefined }),
    file,
  })
  const wellFormed = good.map(({ boundary, attrs, file: f }): Form => {
    const parts: Part[] = [...(attrs !== undefined ? [{ name: 'customAttributes', content: attrs }] : []), { name: 'file', filename: f.filename, type: f.type, content: f.content }]
    return { contentType: `multipart/form-data; boundary=${boundary}`, body: formBody(boundary, parts) }
  })
  const anyParts = fc.record({ boundary: boundaryArb, parts: fc.array(part(accepted), { maxLength: 12 }) })
  const broken: fc.Arbitrary<Form> = fc.oneof(
    // Any parts at all: unknown fields, files in other fields, two files, more parts than allowed.
    anyParts.map(({ boundary, parts }) => ({ contentType: `multipart/form-data; boundary=${boundary}`, body: formBody(boundary, parts) })),
    // No closing delimiter: the body just ends.
    anyParts.map(({ boundary, parts }) => ({ contentType: `multipart/form-data; boundary=${boundary}`, body: formBody(boundary, parts, '\r\n', false) })),
    // Bare LF line endings.
    anyParts.map(({ boundary, parts }) => ({ contentType: `multipart/form-data; boundary=${boundary}`, body: formBody(boundary, parts, '\n') })),
    // The header names one boundary, the body uses another (or none).
    fc.tuple(boundaryArb, boundaryArb, anyParts).map(([a, b, { parts }]) => ({ contentType: `multipart/form-data; boundary=${a}`, body: formBody(`${b}x`, parts) })),
    fc.tuple(fc.constantFrom('multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary=""', 'multipart/form-data;boundary', 'MULTIPART/FORM-DATA; BOUNDARY=b'), anyParts).map(([ct, { parts }]) => ({ contentType: ct, body: formBody('b', parts) })),
    // Cut anywhere: inside the headers of a part, inside its content, inside a delimiter.
    fc.tuple(wellFormed, fc.double({ min: 0, max: 1, noNaN: true })).map(([f, at]) => ({ ...f, body: f.body.slice(0, Math.floor(f.body.length * at)) })),
    // A part whose headers never end (no blank line), or whose headers are junk.
    fc.tuple(boundaryArb, fc.constantFrom('Content-Disposition: form-data; name="file"\r\nfile content', 'garbage header line\r\n\r\nx', ': \r\n\r\nx', `Content-Disposition: ${'x'.repeat(20_000)}\r\n\r\nx`, 'Content-Disposition: form-data; name=file; filename=a.txt\r\nContent-Type: text/plain\r\n\r\nok')).map(([b, p]) => ({
      contentType: `multipart/form-data; boundary=${b}`,
      body: `--${b}\r\n${p}\r\n--${b}--\r\n`,
    })),
    // A field over the 4 KiB field limit, then the file.
    boundaryArb.map((b) => ({ contentType: `multipart/form-data; boundary=${b}`, body: formBody(b, [{ name: 'customAttributes', content: 'a'.repeat(5000) }, { name: 'file', filename: 'a.txt', type: accepted[0]!, content: 'x' }]) })),
    // Preamble and epilogue junk around a valid form.
    wellFormed.map((f) => ({ ...f, body: `preamble junk\r\n${f.body}epilogue junk` })),
  )
  return fc.oneof({ weight: 2, arbitrary: wellFormed }, { weight: 3, arbitrary: broken })
}
