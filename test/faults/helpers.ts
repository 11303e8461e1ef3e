import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import type { Test } from 'tap'
import type { Config } from '../../src/config.js'
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { startTestStack, waitForJob, type TestStack } from '../helpers/stack.js'
import { eventually } from '../helpers/upload-client.js'

export const MiB = 1024 * 1024

/** Deadlines small enough for tests: every wait below comes from these, never from a sleep. */
export const fastDeadlines = (c: Config): Config => ({
  ...c,
  aws: { ...c.aws, maxAttempts: 2, s3AttemptTimeoutMs: 500, s3StallTimeoutMs: 500, readBudgetMs: 1500, sageMakerAttemptTimeoutMs: 500 },
  upload: { ...c.upload, idleTimeoutMs: 5000 },
})

export interface FaultStack extends TestStack {
  /** Between the gateway and the local S3 (the test's own S3 client goes straight to S3). */
  s3Proxy: FaultProxy
  /** Between the gateway and the local SageMaker runtime. */
  runtimeProxy: FaultProxy
}

/** The local stack's default models, with fault proxies in front of S3 and the runtime. */
export async function startFaultStack(t: Test, tune: (c: Config) => Config = (c) => c): Promise<FaultStack> {
  let s3Proxy!: FaultProxy
  let runtimeProxy!: FaultProxy
  const it = await startTestStack(t, {
    configure: async (c, stack) => {
      s3Proxy = await startFaultProxy(stack.s3.endpoint)
      runtimeProxy = await startFaultProxy(stack.sagemaker.endpoint)
      // Teardowns run in order: this one before the stack's, so the gateway closes against a working S3.
      t.teardown(() => {
        s3Proxy.pass()
        s3Proxy.refuse(false)
        runtimeProxy.pass()
        runtimeProxy.refuse(false)
      })
      const mme = Object.fromEntries(Object.entries(c.multiModelEndpoints).map(([name, e]) => [name, { ...e, discoveryTtlMs: 1000 }]))
      return tune(fastDeadlines({ ...c, aws: { ...c.aws, s3Endpoint: s3Proxy.url, sageMakerRuntimeEndpoint: runtimeProxy.url }, multiModelEndpoints: mme }))
    },
  })
  t.teardown(async () => {
    await s3Proxy.close()
    await runtimeProxy.close()
  })
  return { ...it, s3Proxy, runtimeProxy }
}

/** Nothing new is left: the gateway's objects are the `before` ones, and no multipart upload is open. */
export async function leavesNothing(t: Test, it: TestStack, before: string[] = [], what = ''): Promise<void> {
  t.same(await it.keys('sagegate/'), before, `no objects left ${what}`)
  t.equal(await it.openUploads(), 0, `no multipart uploads left ${what}`)
}

/**
 * Waits (bounded) until nothing new is left, then asserts it: cleanups may still be retrying. First
 * until the gateway has no upload in flight (or no longer listens): one whose client has just
 * vanished may not have created its multipart upload yet, and S3 would look clean a moment too early.
 */
export async function settlesToNothing(t: Test, it: TestStack, before: string[] = [], what = ''): Promise<void> {
  // A gateway that has closed (a drain test) has nothing in flight either.
  const idle = async () => /^sagegate_uploads_in_flight 0$/m.test(await (await fetch(`${it.baseUrl}/metrics`)).text())
  await eventually(`no upload in flight ${what}`, () => idle().catch(() => true))
  await eventually(`cleanup ${what}`, async () => (await it.openUploads()) === 0 && (await it.keys('sagegate/')).length === before.length)
  await leavesNothing(t, it, before, what)
}

/** A completed summarize job whose output is then replaced by `bytes` bytes, for large result reads. */
export async function completedJobWithOutput(it: TestStack, bytes: number): Promise<string> {
  const res = await fetch(`${it.baseUrl}/models/summarize/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'One sentence. Another one.' })
  const job = (await res.json()) as { id: string }
  await waitForJob(it.baseUrl, job.id)
  const record = await it.s3.send(new GetObjectCommand({ Bucket: it.bucket, Key: `sagegate/jobs/${job.id}/job.json` }))
  const { outputLocation } = JSON.parse(await record.Body!.transformToString()) as { outputLocation: string }
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(outputLocation)!
  await it.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(bytes, 'r'), ContentType: 'application/octet-stream' }))
  return job.id
}
