import { randomUUID } from 'node:crypto'

/**
 * The request id: the client's `X-Request-Id` when it is a plain token, so a trace can be followed
 * across services, and a fresh UUID otherwise. The id is echoed in a response header and written to
 * every log line of the request, so nothing else is taken from the client (DESIGN.md: untrusted text
 * is validated, clipped and never echoed raw into logs or headers).
 */
export const REQUEST_ID_HEADER = 'x-request-id'

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The client's value when acceptable, else undefined. */
export function acceptedRequestId(value: string | string[] | undefined): string | undefined {
  // Node joins a repeated X-Request-Id into one value with ", ", which the pattern refuses: the id is
  // either the one the client sent once, or none of them.
  return typeof value === 'string' && CLIENT_REQUEST_ID.test(value) ? value : undefined
}

export function requestIdFor(value: string | string[] | undefined, fresh: () => string = randomUUID): string {
  return acceptedRequestId(value) ?? fresh()
}
