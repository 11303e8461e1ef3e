import {
  InternalDependencyException,
  InternalFailure,
  ModelError,
  ModelNotReadyException,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime'
import t from 'tap'
import { ModelNotReadyError, translateInvokeError, translateRuntimeError } from '../../src/clients/sagemaker-inference-runtime.js'
import { AppError } from '../../src/errors.js'

const meta = { $metadata: {} }
const modelError = (status: number, message = 'bad input') =>
  new ModelError({ ...meta, message: 'Received client error', OriginalStatusCode: status, OriginalMessage: message })

t.test('ModelError: 4xx → 422 with the model status and message, 5xx → 502, 0 → 504', async (t) => {
  const rejected = translateInvokeError(modelError(400, '{"error":"invalid JSON"}')) as AppError
  t.match(rejected, { statusCode: 422, code: 'model_rejected_input', details: { modelStatus: 400, modelMessage: '{"error":"invalid JSON"}' } })
  const failed = translateInvokeError(modelError(500, 'Traceback: secret internals')) as AppError
  t.match(failed, { statusCode: 502, code: 'model_error', details: { modelStatus: 500 } })
  t.notOk(JSON.stringify(failed.details).includes('secret'), 'a 5xx model message is not sent')
  t.match(translateInvokeError(modelError(0)), { statusCode: 504, code: 'model_timeout' })
})

t.test('ModelNotReady is retryable; throttling and unavailability are 503 with Retry-After', async (t) => {
  t.type(translateInvokeError(new ModelNotReadyException({ ...meta, message: 'loading' })), ModelNotReadyError)
  for (const err of [
    new ServiceUnavailable({ ...meta, message: 'x' }),
    new InternalDependencyException({ ...meta, message: 'x' }),
    Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  ]) {
    const e = translateInvokeError(err) as AppError
    t.equal(e.statusCode, 503, err.name)
    t.ok(e.headers?.['retry-after'])
  }
})

t.test('validation errors: missing target → 404, our misconfiguration → 502, the rest → 400', async (t) => {
  t.match(translateInvokeError(new ValidationError({ ...meta, message: 'Failed to download model data(bucket: b, key: k/x.tar.gz).' })), {
    statusCode: 404,
    code: 'target_model_not_found',
  })
  t.match(translateInvokeError(new ValidationError({ ...meta, message: 'Endpoint nope of account 123 not found.' })), { statusCode: 502 })
  t.match(translateInvokeError(new ValidationError({ ...meta, message: '1 validation error detected: customAttributes' })), {
    statusCode: 400,
    code: 'invalid_request',
  })
})

t.test('other failures are 502 without their message', async (t) => {
  const e = translateRuntimeError(new InternalFailure({ ...meta, message: 'internal detail' })) as AppError
  t.equal(e.statusCode, 502)
  t.notMatch(e.message, /internal detail/)
})
