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

/** TargetModel (shape `TargetModelHeader`: 1–1024, `\A\S[\p{Print}]*\z`). */
export function checkTargetModel(c: ConstraintCollector, value: string | undefined): void {
  if (value === undefined) return
  c.length('targetModel', value, 1, 1024)
  if (value.length > 0) c.pattern('targetModel', value, INFERENCE_ID, '\\A\\S[\\p{Print}]*\\z')
}

/** TargetVariant / TargetContainerHostname (≤ 63, the endpoint-name pattern). */
export function checkVariantLike(c: ConstraintCollector, member: 'targetVariant' | 'targetContainerHostname', value: string | undefined): void {
  if (value === undefined) return
  c.length(member, value, undefined, 63)
  c.pattern(member, value, ENDPOINT_NAME_PATTERN, ENDPOINT_NAME_SHOWN)
}

/** EnableExplanations (InvokeEndpoint only; shape `EnableExplanationsHeader`: 1–64, `.*`). */
export function checkEnableExplanations(c: ConstraintCollector, value: string | undefined): void {
  if (value === undefined) return
  c.length('enableExplanations', value, 1, 64)
}

/** InferenceComponentName (shape `InferenceComponentHeader`: ≤ 63). */
export function checkInferenceComponentName(c: ConstraintCollector, value: string | undefined): void {
  if (value === undefined) return
  c.length('inferenceComponentName', value, undefined, 63)
  c.pattern('inferenceComponentName', value, /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, '^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$')
}

/**
 * SessionId: InvokeEndpoint takes `SessionIdOrNewSessionConstantHeader` (may be `NEW_SESSION`),
 * InvokeEndpointWithResponseStream `SessionIdHeader`; both ≤ 256.
 */
export function checkSessionId(c: ConstraintCollector, value: string | undefined, allowNewSession: boolean): void {
  if (value === undefined) return
  c.length('sessionId', value, undefined, 256)
  if (allowNewSession) {
    c.pattern('sessionId', value, /^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, '^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$')
  } else {
    c.pattern('sessionId', value, /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/, '^[a-zA-Z0-9](-*[a-zA-Z0-9])*$')
  }
}
