import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec'
import { fromUtf8, toUtf8 } from '@smithy/util-utf8'

/**
 * AWS event-stream messages of InvokeEndpointWithResponseStream's `ResponseStream` union
 * (`application/vnd.amazon.eventstream`: prelude, headers, payload, CRC32s — sagemaker-notes).
 */
const codec = new EventStreamCodec(toUtf8, fromUtf8)
const str = (value: string) => ({ type: 'string' as const, value })

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream'

/** ModelStreamError.ErrorCode values the service documents. */
export type ModelStreamErrorCode = 'StreamBroken' | 'ModelInvocationTimeExceeded'

/** A `PayloadPart` event: the model's bytes as they came (its `Bytes` member is the event payload). */
export function payloadPartMessage(bytes: Uint8Array): Uint8Array {
  const headers: MessageHeaders = {
    ':message-type': str('event'),
    ':event-type': str('PayloadPart'),
    ':content-type': str('application/octet-stream'),
  }
  return codec.encode({ headers, body: bytes })
}

/** A modelled `ModelStreamError` exception event; the SDK raises it from the Body iterator. */
export function modelStreamErrorMessage(message: string, errorCode: ModelStreamErrorCode): Uint8Array {
  const headers: MessageHeaders = {
    ':message-type': str('exception'),
    ':exception-type': str('ModelStreamError'),
    ':content-type': str('application/json'),
  }
  return codec.encode({ headers, body: fromUtf8(JSON.stringify({ Message: message, ErrorCode: errorCode })) })
}
