import { parseS3Path } from './s3-paths.js'
import { messages, validationError, type RuntimeError } from './errors.js'
import { ENDPOINT_NAME_PATTERN } from './headers.js'
import type { MultiModelConfig, RuntimeEndpoint } from './types.js'

/**
 * The endpoints this runtime serves, by name. SageMaker API reference (CreateEndpoint.EndpointName):
 * "The name is case-insensitive in CreateEndpoint, but the case is preserved and must be matched in
 * InvokeEndpoint" — so names must be unique ignoring case, and lookups are exact.
 */
export interface EndpointRegistry {
  all(): RuntimeEndpoint[]
  get(name: string): RuntimeEndpoint | undefined
  /** The endpoint, or the ValidationError SageMaker answers for an unknown one. */
  resolve(name: string): RuntimeEndpoint | RuntimeError
}

export function createEndpointRegistry(endpoints: RuntimeEndpoint[], accountId: string): EndpointRegistry {
  const byName = new Map<string, RuntimeEndpoint>()
  const folded = new Set<string>()
  for (const e of endpoints) {
    checkEndpointConfig(e)
    if (folded.has(e.name.toLowerCase())) throw new Error(`local runtime: duplicate endpoint name ${e.name}`)
    folded.add(e.name.toLowerCase())
    byName.set(e.name, e)
  }
  return {
    all: () => [...byName.values()],
    get: (name) => byName.get(name),
    resolve: (name) => byName.get(name) ?? validationError(messages.endpointNotFound(name, accountId)),
  }
}

/** Configuration mistakes are programming errors: fail at start-up, not on the first request. */
function checkEndpointConfig(e: RuntimeEndpoint): void {
  const where = `local runtime endpoint ${e.name}`
  if (e.name.length > 63 || !ENDPOINT_NAME_PATTERN.test(e.name)) throw new Error(`${where}: invalid endpoint name`)
  if (!/^https?:\/\//.test(e.containerUrl)) throw new Error(`${where}: containerUrl must be an http(s) URL`)
  if (e.containerTimeoutMs !== undefined) checkMs(where, 'containerTimeoutMs', e.containerTimeoutMs)
  if (e.mode === 'realtime') {
    if (e.multiModel !== undefined) checkMultiModel(where, e.multiModel)
    return
  }
  if (e.multiModel !== undefined) throw new Error(`${where}: multi-model endpoints are real-time only`)
  const a = e.async
  if (a === undefined) throw new Error(`${where}: async endpoints need an async config`)
  if (parseS3Path(a.s3OutputPath) === undefined) throw new Error(`${where}: s3OutputPath must be s3://bucket[/prefix]`)
  if (a.s3FailurePath !== undefined && parseS3Path(a.s3FailurePath) === undefined) {
    throw new Error(`${where}: s3FailurePath must be s3://bucket[/prefix]`)
  }
  // AsyncInferenceClientConfig.MaxConcurrentInvocationsPerInstance: 1–1000.
  const max = a.maxConcurrentInvocationsPerInstance
  if (!Number.isInteger(max) || max < 1 || max > 1000) throw new Error(`${where}: maxConcurrentInvocationsPerInstance must be 1-1000`)
  if (!Number.isInteger(a.instanceCount) || a.instanceCount < 1) throw new Error(`${where}: instanceCount must be a positive integer`)
}

function checkMultiModel(where: string, m: MultiModelConfig): void {
  // ModelDataUrl of a Model with Mode MultiModel: an S3 prefix under which TargetModel keys live.
  if (!/^s3:\/\/[^/]+\//.test(m.modelDataUrl) || parseS3Path(m.modelDataUrl) === undefined) {
    throw new Error(`${where}: modelDataUrl must be s3://bucket/prefix/`)
  }
  if (typeof m.modelsDir !== 'string' || m.modelsDir === '') throw new Error(`${where}: modelsDir is required`)
  if (!Number.isInteger(m.maxLoadedModels) || m.maxLoadedModels < 1) throw new Error(`${where}: maxLoadedModels must be a positive integer`)
  if (m.notReadyAfterMs !== undefined) checkMs(where, 'notReadyAfterMs', m.notReadyAfterMs)
  if (m.maxLoadMs !== undefined) checkMs(where, 'maxLoadMs', m.maxLoadMs)
}

/** setTimeout fires at once for delays over 2^31-1 ms, so larger values are refused. */
function checkMs(where: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) throw new Error(`${where}: ${name} must be an integer from 1 to ${2 ** 31 - 1}`)
}
