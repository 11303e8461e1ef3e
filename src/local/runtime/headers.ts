import type { IncomingHttpHeaders } from 'node:http'
import type { ConstraintCollector } from './constraints.js'

/**
 * Header members shared by the runtime operations, with the constraints of the sagemaker-runtime
 * service model (API 2017-05-13). One place, so InvokeEndpoint, InvokeEndpointAsync and
 * InvokeEndpointWithResponseStream validate identically.
 */
export const ENDPOINT_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/
const ENDPOINT_NAME_SHOWN = '^[a-zA-Z0-9](-*[a-zA-Z0-9])*'
/** `\p{ASCII}*` (model shape `Header`, `CustomAttributesHeader`). */
const ASCII = /^[\x00-\x7F]*$/
/** RFC 7230 field-value "visible US-ASCII" plus space/tab: what CustomAttributes allows. */
const PRINTABLE_ASCII = /^[\x20-\x7E\t]*$/
/** `\A\S[\p{Print}]*\z` (InferenceId, TargetModel). */
const INFERENCE_ID = /^[\x21-\x7E][\x20-\x7E]*$/

export const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

export function checkEndpointName(c: ConstraintCollector, name: string): void {
  c.length('endpointName', name, 1, 63)
  c.pattern('endpointName', name, ENDPOINT_NAME_PATTERN, ENDPOINT_NAME_SHOWN)
}

/** ContentType / Accept (shape `Header`: ≤ 1024, ASCII). */
export function checkMediaTypeHeader(c: ConstraintCollector, member: string, value: string | undefined): void {
  if (value === undefined) return
  c.length(member, value, undefined, 1024)
  c.pattern(member, value, ASCII, '\\p{ASCII}*')
}

export function checkCustomAttributes(c: ConstraintCollector, value: string | undefined): void {
  if (value === undefined) return
  c.length('customAttributes', value, undefined, 1024, true)
  c.pattern('customAttributes', value, PRINTABLE_ASCII, '\\p{ASCII}*', true)
}

export function checkInferenceId(c: ConstraintCollector, value: string | undefined): void {
  if (value === undefined) return
  c.length('inferenceId', value, 1, 64)
  if (value.length > 0) c.pattern('inferenceId', value, INFERENCE_ID, '\\A\\S[\\p{Print}]*\\z')
}
