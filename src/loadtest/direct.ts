/**
 * `--direct`: the same predict load sent straight to the SageMaker endpoint, the reference the gateway
 * is compared with: InvokeEndpoint through the gateway's own SDK client and runtime adapter (built as
 * src/app.ts builds them, so src/clients/ stays the only place that imports the SDK), without HTTP,
 * Fastify, the predict service's checks or its cold-start retries. Jobs mode (InvokeEndpointAsync with
 * the input PUT to S3 first) is not implemented.
 */
import { readFile } from 'node:fs/promises'
import { createSageMakerRuntimeClient, sageMakerRuntimeUrl } from '../clients/aws.js'
import { createSageMakerInferenceRuntime } from '../clients/sagemaker-inference-runtime.js'
import type { RequestBody } from './body.js'
import { createAgent, send } from './http.js'
import type { Sample } from './loop.js'

/** Where the direct calls go and with what. */
export interface DirectTarget {
  endpointName: string
  targetModel?: string
  region: string
  /** The runtime's URL (the local stack's); default AWS's. */
  endpointUrl?: string
  /** Default: the SDK's credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string }
}

export interface Direct {
  call(): Promise<Sample>
  close(): void
}

/** As the gateway's predict timeout: a call with no answer by then is aborted and counted as status 0. */
const CALL_TIMEOUT_MS = 120_000

export function createDirect(target: DirectTarget, body: RequestBody, maxSockets: number): Direct {
  const client = createSageMakerRuntimeClient({
    region: target.region,
    ...(target.endpointUrl !== undefined ? { endpoint: target.endpointUrl } : {}),
    ...(target.credentials !== undefined ? { credentials: target.credentials } : {}),
    maxSockets,
  })
  const runtime = createSageMakerInferenceRuntime({ client, endpointUrl: sageMakerRuntimeUrl(target.region, target.endpointUrl) })
  const request = {
    endpointName: target.endpointName,
    ...(target.targetModel !== undefined ? { targetModel: target.targetModel } : {}),
    contentType: body.contentType,
    body: body.bytes,
  }
  return {
    async call() {
      const started = performance.now()
      try {
        // The answer's body is read to its end before invoke() resolves: the same "to the last
        // byte" as the gateway's measurement.
        await runtime.invoke(request, { timeoutMs: CALL_TIMEOUT_MS })
        return { status: 200, latencyMs: performance.now() - started }
      } catch (err) {
        // SageMaker's own status (the adapter's translation is the gateway's business); 0 when
        // there was no answer (a network error, the timeout).
        type SdkError = { cause?: unknown; $metadata?: { httpStatusCode?: number } }
        const sdk = ((err as SdkError).cause ?? err) as SdkError
        return { status: sdk.$metadata?.httpStatusCode ?? 0, latencyMs: performance.now() - started }
      }
    },
    close: () => client.destroy(),
  }
}

/** The local stack's local.json (src/local/stack.ts writeLocalJson), the parts used here. */
interface LocalJson {
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  sagemaker: { endpoint: string }
}

/** The ARTIFACT_SUFFIX of the model registry: a discovered model NAME is the artifact NAME.tar.gz. */
const ARTIFACT_SUFFIX = '.tar.gz'

export interface ResolveOptions {
  url: string
  model: string
  headers: Record<string, string>
  endpoint?: string
  targetModel?: string
  localJson: string
  region?: string
  /** AWS_REGION, AWS_DEFAULT_REGION: the caller's environment. */
  envRegion?: string
}

/**
 * The endpoint and TargetModel from the gateway's GET /models/{name} (its `endpointName`; a model
 * discovered under a multi-model endpoint's prefix is the artifact NAME.tar.gz; a configured target
 * model is not published, so it needs --target-model), unless given; region, credentials and runtime
 * URL from local.json when it exists, else the SDK's default chain and --region.
 */
export async function resolveDirectTarget(o: ResolveOptions): Promise<DirectTarget> {
  let endpointName = o.endpoint
  let targetModel = o.targetModel
  if (endpointName === undefined) {
    const agent = createAgent(o.url, 1)
    const answer = await send(agent, `${o.url}/models/${o.model}`, { method: 'GET', headers: o.headers, keepBody: true, timeoutMs: 10_000 })
    agent.destroy()
    if (answer.status !== 200) throw new Error(`GET /models/${o.model} answered ${answer.status || answer.error}: give --endpoint`)
    const model = JSON.parse(answer.body!.toString()) as { mode: string; endpointName: string; discovered?: boolean }
    if (model.mode !== 'realtime') throw new Error(`model ${o.model} is ${model.mode}: --direct measures real-time models`)
    endpointName = model.endpointName
    if (targetModel === undefined && model.discovered === true) targetModel = `${o.model}${ARTIFACT_SUFFIX}`
  }
  const local = await readFile(o.localJson, 'utf8').then(
    (text) => JSON.parse(text) as LocalJson,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    },
  )
  const base = { endpointName, ...(targetModel !== undefined ? { targetModel } : {}) }
  if (local !== undefined) return { ...base, region: local.region, endpointUrl: local.sagemaker.endpoint, credentials: local.credentials }
  const region = o.region ?? o.envRegion
  if (region === undefined) throw new Error(`no ${o.localJson}: give --region (or set AWS_REGION) for the SDK's default chain`)
  return { ...base, region }
}
