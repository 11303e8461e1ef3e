// echo: answers with the request body and content type unchanged, byte for byte. It proves that the
// gateway and the runtime pass bodies through untouched (Triton's
// `application/vnd.sagemaker-triton.binary+json;json-header-size=N`, KServe v2 JSON, raw binary)
// and is what the benchmarks call, so it does as little as possible: no decoding, no copying.
import type { Handler, HandlerOutput } from '../handler.js'

/** InvokeEndpoint's payload limit (6 MiB, see sagemaker-notes.md): echo serves real-time endpoints. */
export const MAX_ECHO_BYTES = 6 * 1024 * 1024
/** What a body without a Content-Type is, per RFC 9110 §8.3 (a recipient may assume octets). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream'

export interface EchoInput {
  body: Buffer
  contentType: string
}

export const handler: Handler<null, EchoInput, EchoInput> = {
  modelFn() {
    return null // model.json carries no data: the artifact only names this handler
  },

  async inputFn(body, contentType) {
    // The content type is kept verbatim, parameters and case included: Triton reads
    // json-header-size from it, so even normalising whitespace could break a client.
    return { body: await body.buffer(MAX_ECHO_BYTES), contentType: contentType.trim() === '' ? DEFAULT_CONTENT_TYPE : contentType }
  },

  predictFn(input) {
    return input
  },

  // Accept is ignored on purpose: echo's contract is "the same bytes and type back", and a client
  // asking for something else still gets its own body rather than a 406.
  outputFn(prediction): HandlerOutput {
    return { body: prediction.body, contentType: prediction.contentType }
  },
}
