// Small response helpers for the container servers: every answer carries a Content-Length.
import type { ServerResponse } from 'node:http'

export interface SendOptions {
  /**
   * Close the connection after answering. Used when the request body was not (fully) read: the
   * rest of it would otherwise be read as the next request on a kept-alive connection.
   */
  close?: boolean
  headers?: Record<string, string>
}

export function sendJson(response: ServerResponse, statusCode: number, value: unknown, options: SendOptions = {}): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8')
  response.writeHead(statusCode, {
    ...options.headers,
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    ...(options.close ? { Connection: 'close' } : {}),
  })
  response.end(body)
}
