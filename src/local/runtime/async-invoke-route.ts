import { randomUUID } from 'node:crypto'
import type { AsyncJob } from './async-job.js'
import type { EndpointQueue } from './async-queue.js'
import { ConstraintCollector } from './constraints.js'
import { messages, RuntimeError, sendJson, validationError } from './errors.js'
import { checkCustomAttributes, checkEndpointName, checkInferenceId, checkMediaTypeHeader, header } from './headers.js'
import type { EndpointRegistry } from './registry.js'
import type { SmallBody } from './request-body.js'
import type { RequestContext } from './router.js'
import { asyncLocations } from './s3-paths.js'

/** AsyncBodyBlob: an inline Body (2026 API) holds at most 128,000 bytes. */
export const ASYNC_INLINE_BODY_MAX_BYTES = 128_000
const DEFAULT_REQUEST_TTL_SECONDS = 21_600
const DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900
const INPUT_LOCATION = /^(https|s3):\/\/([^/]+)\/?(.*)$/
// The service model's patterns (Java regex syntax) and how AWS quotes them in ValidationError messages.
const S3_OUTPUT_PATH_EXTENSION = /^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$/
const S3_OUTPUT_PATH_EXTENSION_SHOWN = "^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$"
const FILENAME = /^(?!.*\..*\.)[a-zA-Z0-9][a-zA-Z0-9\-_.]*$/
const FILENAME_SHOWN = '^(?!.*\\..*\\.)[a-zA-Z0-9][a-zA-Z0-9-_\\.]*$'

export interface AsyncInvokeDeps {
  registry: EndpointRegistry
  /** By exact endpoint name. */
  queues: ReadonlyMap<string, EndpointQueue>
  accountId: string
  clock: () => number
}

/** InvokeEndpointAsync — `POST /endpoints/{EndpointName}/async-invocations` → 202. */
export function createInvokeEndpointAsync(deps: AsyncInvokeDeps) {
  return async (ctx: RequestContext, body: SmallBody): Promise<void> => {
    const name = ctx.params['EndpointName'] ?? ''
    const h = ctx.req.headers
    const contentType = header(h, 'x-amzn-sagemaker-content-type')
    const accept = header(h, 'x-amzn-sagemaker-accept')
    const customAttributes = header(h, 'x-amzn-sagemaker-custom-attributes')
    const givenInferenceId = header(h, 'x-amzn-sagemaker-inference-id')
    const inputLocation = header(h, 'x-amzn-sagemaker-inputlocation')
    const extension = header(h, 'x-amzn-sagemaker-s3outputpathextension')
    const filename = header(h, 'x-amzn-sagemaker-filename')
    const rawTtl = header(h, 'x-amzn-sagemaker-requestttlseconds')
    const rawTimeout = header(h, 'x-amzn-sagemaker-invocationtimeoutseconds')

    // Constraints in the input structure's member order, all reported at once as AWS does.
    const c = new ConstraintCollector()
    checkEndpointName(c, name)
    checkMediaTypeHeader(c, 'contentType', contentType)
    checkMediaTypeHeader(c, 'accept', accept)
    checkCustomAttributes(c, customAttributes)
    checkInferenceId(c, givenInferenceId)
    if (inputLocation !== undefined) {
      c.length('inputLocation', inputLocation, 1, 1024)
      c.pattern('inputLocation', inputLocation, INPUT_LOCATION, '^(https|s3)://([^/]+)/?(.*)$')
    } else if (body.sizeBytes === 0) {
      // Without an inline Body the input must come from S3.
      c.required('inputLocation', undefined)
    }
    if (extension !== undefined) {
      // Shape S3OutputPathExtensionHeader of the service model (botocore sagemaker-runtime 2017-05-13).
      c.length('s3OutputPathExtension', extension, 1, 512)
      c.pattern('s3OutputPathExtension', extension, S3_OUTPUT_PATH_EXTENSION, S3_OUTPUT_PATH_EXTENSION_SHOWN)
    }
    if (filename !== undefined) {
      // Shape FilenameHeader of the service model: a letter or digit first, then [-_.a-zA-Z0-9], one dot at most.
      c.length('filename', filename, 1, 32)
      c.pattern('filename', filename, FILENAME, FILENAME_SHOWN)
    }
    const ttl = rawTtl === undefined ? DEFAULT_REQUEST_TTL_SECONDS : c.integer('requestTTLSeconds', rawTtl, 60, 21_600)
    const timeout =
      rawTimeout === undefined ? DEFAULT_INVOCATION_TIMEOUT_SECONDS : c.integer('invocationTimeoutSeconds', rawTimeout, 1, 3_600)
    if (body.sizeBytes > ASYNC_INLINE_BODY_MAX_BYTES) c.length('body', '', undefined, ASYNC_INLINE_BODY_MAX_BYTES, true, body.sizeBytes)
    const invalid = c.toError()
    if (invalid !== undefined) throw invalid
    if (inputLocation !== undefined && body.sizeBytes > 0) throw validationError(messages.bodyAndInputLocation)

    const endpoint = deps.registry.resolve(name)
    if (endpoint instanceof RuntimeError) throw endpoint
    const queue = deps.queues.get(endpoint.name)
    if (endpoint.mode !== 'async' || endpoint.async === undefined || queue === undefined) {
      throw validationError(messages.realtimeEndpointInvokedAsynchronously(name, deps.accountId))
    }

    // The service generates a UUID when the caller sends none. Duplicate ids are accepted, as AWS
    // does: both requests run and the later result overwrites the earlier object.
    const inferenceId = givenInferenceId ?? randomUUID()
    const locations = asyncLocations(endpoint.async, inferenceId, extension, filename)
    const job: AsyncJob = {
      endpointName: endpoint.name,
      inferenceId,
      requestId: ctx.requestId,
      receivedAtMs: deps.clock(),
      requestTtlSeconds: ttl!,
      invocationTimeoutSeconds: timeout!,
      input: inputLocation !== undefined ? { kind: 's3', location: inputLocation } : { kind: 'inline', bytes: body.bytes },
      ...(contentType !== undefined ? { contentType } : {}),
      ...(accept !== undefined ? { accept } : {}),
      ...(customAttributes !== undefined ? { customAttributes } : {}),
      locations,
    }
    // Durable before it is acknowledged: a runtime that dies after the 202 still runs the request.
    await queue.enqueue(job)
    sendJson(ctx.res, 202, { InferenceId: inferenceId }, {
      'X-Amzn-SageMaker-OutputLocation': locations.output.uri,
      ...(locations.failure !== undefined ? { 'X-Amzn-SageMaker-FailureLocation': locations.failure.uri } : {}),
    })
  }
}
