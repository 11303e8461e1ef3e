import { S3Client } from '@aws-sdk/client-s3'
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'

export interface AwsClientOptions {
  region: string
  /** Endpoint override (MinIO, LocalStack, the local stack); default: AWS. */
  endpoint?: string
  /** Fixed credentials; default: the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string }
  forcePathStyle?: boolean
  /** Socket idle timeout for a request; 0 disables it. */
  requestTimeoutMs?: number
  maxSockets?: number
}

function handler(o: AwsClientOptions, defaultTimeoutMs: number): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets: o.maxSockets ?? 64 }
  return new NodeHttpHandler({
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    connectionTimeout: 5000,
    requestTimeout: o.requestTimeoutMs ?? defaultTimeoutMs,
  })
}

const common = (o: AwsClientOptions) => ({
  region: o.region,
  ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
  // A copy: the SDK annotates the credentials object it is given (e.g. `$source`).
  ...(o.credentials !== undefined ? { credentials: { accessKeyId: o.credentials.accessKeyId, secretAccessKey: o.credentials.secretAccessKey } } : {}),
})

export function createS3Client(o: AwsClientOptions): S3Client {
  // A stalled S3 connection should fail a part (which the SDK then retries), not hang an upload.
  return new S3Client({ ...common(o), forcePathStyle: o.forcePathStyle ?? false, requestHandler: handler(o, 120_000) })
}

export function createSageMakerRuntimeClient(o: AwsClientOptions): SageMakerRuntimeClient {
  // sagemaker-notes: the model must answer within 60 s; give the socket about 70 s.
  return new SageMakerRuntimeClient({ ...common(o), requestHandler: handler(o, 70_000) })
}

export const sageMakerRuntimeUrl = (region: string, endpoint?: string): string => endpoint ?? `https://runtime.sagemaker.${region}.amazonaws.com`
