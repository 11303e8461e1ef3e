import type { Logger } from 'pino'
import { createS3Client } from '../clients/aws.js'
import { startModelHost, type ContainerSpec } from './model-host/host.js'
import { startLocalRuntime, type RuntimeEndpoint } from './runtime/server.js'
import { startLocalS3 } from './s3/server.js'

/**
 * The local stack's three parts, each startable from plain (serialisable) options so the same code
 * runs them in this process (tests) or each in its own child process (`npm start`).
 */
export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
}

export type ComponentSpec =
  | { role: 's3'; options: { host: string; port: number; dataDir: string; region: string; credentials: Credentials; buckets: string[] } }
  | { role: 'model-host'; options: { host: string; containers: ContainerSpec[]; tmpDir?: string; ownsTmpDir?: boolean } }
  | {
      role: 'runtime'
      options: {
        host: string
        port: number
        region: string
        accountId: string
        credentials: Credentials
        s3Url: string
        endpoints: RuntimeEndpoint[]
        /** Persisted async queue (see runtime/async-journal.ts). */
        stateDir?: string
      }
    }

export interface RunningComponent {
  /** What the parent needs to know: URLs and ports. */
  info: { url?: string; containers?: Array<{ name: string; url: string }> }
  close(): Promise<void>
}

export async function startComponent(spec: ComponentSpec, logger: Logger, clock?: () => number): Promise<RunningComponent> {
  switch (spec.role) {
    case 's3': {
      const s3 = await startLocalS3({ ...spec.options, logger })
      return { info: { url: s3.url }, close: () => s3.close() }
    }
    case 'model-host': {
      const host = await startModelHost({ ...spec.options, logger })
      // Like SageMaker, an endpoint is in service only once its containers answer /ping.
      await host.ready
      return { info: { containers: host.containers }, close: () => host.close() }
    }
    case 'runtime': {
      const { s3Url, ...rest } = spec.options
      // Its reads and writes are the async inputs and outputs, between processes of this machine.
      const s3 = createS3Client({ region: rest.region, endpoint: s3Url, credentials: rest.credentials, forcePathStyle: true, requestChecksums: 'when-required' })
      const runtime = await startLocalRuntime({ ...rest, credentials: [rest.credentials], s3, logger, ...(clock ? { clock } : {}) })
      return {
        info: { url: runtime.url },
        close: async () => {
          await runtime.close()
          s3.destroy()
        },
      }
    }
  }
}
