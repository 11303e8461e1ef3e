import type { IncomingMessage, ServerResponse } from 'node:http'

export interface RequestContext {
  req: IncomingMessage
  res: ServerResponse
  /** Sent back as `x-amzn-RequestId` on every response. */
  requestId: string
  /** Path parameters, percent-decoded (`/endpoints/{EndpointName}/...`). */
  params: Record<string, string>
}

export type RouteHandler = (ctx: RequestContext) => Promise<void>

interface Route {
  method: string
  segments: string[]
  handler: RouteHandler
}

export type RouteMatch = { handler: RouteHandler; params: Record<string, string> } | undefined

/**
 * A minimal path router: patterns like `/endpoints/{EndpointName}/invocations`, where a `{label}`
 * matches exactly one percent-encoded segment (the SDKs encode `/` inside a label as `%2F`).
 */
export function createRouter() {
  const routes: Route[] = []
  return {
    add(method: string, pattern: string, handler: RouteHandler): void {
      routes.push({ method, segments: pattern.split('/'), handler })
    },
    match(method: string, rawPath: string): RouteMatch {
      const parts = rawPath.split('/')
      for (const route of routes) {
        if (route.method !== method || route.segments.length !== parts.length) continue
        const params: Record<string, string> = {}
        let ok = true
        for (let i = 0; i < parts.length && ok; i++) {
          const seg = route.segments[i]!
          const part = parts[i]!
          if (seg.startsWith('{') && seg.endsWith('}')) {
            const value = safeDecode(part)
            if (value === undefined) ok = false
            else params[seg.slice(1, -1)] = value
          } else if (seg !== part) ok = false
        }
        if (ok) return { handler: route.handler, params }
      }
      return undefined
    },
  }
}

export type Router = ReturnType<typeof createRouter>

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}
