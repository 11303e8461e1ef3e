import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A minimal S3 peer that accepts uploads and throws the bytes away: pointing the gateway at it shows
 * the gateway's own ceiling, with storage cost taken out. Only what an upload needs is answered.
 */
export async function startSinkS3(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink')
    req.resume()
    req.on('end', () => {
      const xml = (body: string) => res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?>${body}`)
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        return xml(`<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>${randomUUID()}</UploadId></InitiateMultipartUploadResult>`)
      }
      if (req.method === 'POST' && url.searchParams.has('uploadId')) {
        return xml('<CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket><Key>k</Key><ETag>"e-1"</ETag></CompleteMultipartUploadResult>')
      }
      if (req.method === 'PUT') return void res.writeHead(200, { etag: '"0123456789abcdef0123456789abcdef"' }).end()
      if (req.method === 'DELETE') return void res.writeHead(204).end()
      if (req.method === 'HEAD') return void res.writeHead(200).end()
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code><Message>sink</Message></Error>')
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
