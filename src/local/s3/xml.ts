// Just enough XML for S3: escaping for responses, and a small parser for the few request bodies S3
// accepts (CompleteMultipartUpload, Delete, CreateBucketConfiguration). Bodies are size-capped by the caller.

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

export function escapeXml(s: string): string {
  return s.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '&': return '&amp;'
      case '<': return '&lt;'
      case '>': return '&gt;'
      case '"': return '&quot;'
      case "'": return '&apos;'
      // Control characters are not representable in XML 1.0 text; S3 emits them as references.
      default: return `&#x${c.charCodeAt(0).toString(16)};`
    }
  })
}

/** `<name>escaped value</name>` */
export function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`
}

export interface XmlElement {
  name: string
  children: XmlElement[]
  text: string
}

export class XmlParseError extends Error {}

/** Parses a document into elements; names lose any namespace prefix, attributes are ignored. */
export function parseXml(src: string): XmlElement {
  let i = 0
  const fail = (msg: string): never => {
    throw new XmlParseError(`${msg} at offset ${i}`)
  }
  const skipMisc = (): void => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i] ?? '')) i++
      if (src.startsWith('<?', i)) {
        const end = src.indexOf('?>', i)
        if (end < 0) fail('unterminated processing instruction')
        i = end + 2
      } else if (src.startsWith('<!--', i)) {
        const end = src.indexOf('-->', i)
        if (end < 0) fail('unterminated comment')
        i = end + 3
      } else return
    }
  }
  const parseElement = (depth: number): XmlElement => {
    if (depth > 32) fail('too deep')
    if (src[i] !== '<') fail('expected element')
    const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(src.slice(i, i + 4096))
    if (!m || m[1] === undefined) return fail('malformed start tag')
    const qname = m[1]
    const node: XmlElement = { name: qname.slice(qname.indexOf(':') + 1), children: [], text: '' }
    i += m[0].length
    if (m[3] === '/') return node
    for (;;) {
      const lt = src.indexOf('<', i)
      if (lt < 0) fail('unterminated element')
      node.text += decodeEntities(src.slice(i, lt), fail)
      i = lt
      if (src.startsWith('</', i)) {
        const close = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(src.slice(i, i + 300))
        if (!close || close[1] !== qname) fail(`mismatched end tag for ${qname}`)
        i += close?.[0].length ?? 0
        return node
      }
      if (src.startsWith('<![CDATA[', i)) {
        const end = src.indexOf(']]>', i)
        if (end < 0) fail('unterminated CDATA')
        node.text += src.slice(i + 9, end)
        i = end + 3
      } else if (src.startsWith('<!--', i) || src.startsWith('<?', i)) {
        skipMisc()
      } else {
        node.children.push(parseElement(depth + 1))
      }
    }
  }
  skipMisc()
  const root = parseElement(0)
  skipMisc()
  if (i !== src.length) fail('trailing content')
  return root
}

function decodeEntities(s: string, fail: (m: string) => never): string {
  if (!s.includes('&')) return s
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (whole, ent: string | undefined) => {
    if (ent === undefined) return fail('bare ampersand')
    if (ent.startsWith('#x')) return String.fromCodePoint(parseInt(ent.slice(2), 16))
    if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10))
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
    return named[ent] ?? fail(`unknown entity ${whole}`)
  })
}

export function child(node: XmlElement, name: string): XmlElement | undefined {
  return node.children.find((c) => c.name === name)
}

export function childText(node: XmlElement, name: string): string | undefined {
  return child(node, name)?.text
}
