import type { AsyncJob } from '../runtime/async-job.js'

/** How an async request ended, as the runtime reports it to its notifications. */
export type AsyncJobEnd = { status: 'Completed'; outputContentType?: string } | { status: 'Failed'; failureReason: string }

/**
 * The Message of SageMaker's async inference notification (sagemaker-notes "Asynchronous inference
 * behaviour"): the success shape is documented; the failure shape (`failureReason`,
 * `responseParameters.failureLocation`) is unconfirmed. receivedTime is by the runtime's clock (a test's, if
 * it moves time), eventTime is real time.
 */
export function inferenceResultMessage(job: AsyncJob, end: AsyncJobEnd, region: string, nowMs = Date.now()): string {
  const requestParameters = {
    ...(job.contentType !== undefined ? { contentType: job.contentType } : {}),
    endpointName: job.endpointName,
    ...(job.input.kind === 's3' ? { inputLocation: job.input.location } : {}),
  }
  const common = {
    awsRegion: region,
    eventTime: new Date(nowMs).toISOString(),
    receivedTime: new Date(job.receivedAtMs).toISOString(),
  }
  const tail = { inferenceId: job.inferenceId, eventVersion: '1.0', eventSource: 'aws:sagemaker', eventName: 'InferenceResult' }
  if (end.status === 'Completed') {
    return JSON.stringify({
      ...common,
      invocationStatus: 'Completed',
      requestParameters,
      responseParameters: { ...(end.outputContentType !== undefined ? { contentType: end.outputContentType } : {}), outputLocation: job.locations.output.uri },
      ...tail,
    })
  }
  return JSON.stringify({
    ...common,
    invocationStatus: 'Failed',
    failureReason: end.failureReason,
    requestParameters,
    responseParameters: job.locations.failure !== undefined ? { failureLocation: job.locations.failure.uri } : {},
    ...tail,
  })
}

/**
 * The runtime's end-of-request hook for one endpoint's NotificationConfig: outputs to the success
 * topic, failures to the error topic (no topic, no message, as with AWS).
 */
export function notifyTopics(
  publish: (topicArn: string, message: string) => void,
  notifications: { successTopicArn?: string; errorTopicArn?: string } | undefined,
  region: string,
): ((job: AsyncJob, end: AsyncJobEnd) => void) | undefined {
  if (notifications?.successTopicArn === undefined && notifications?.errorTopicArn === undefined) return undefined
  return (job, end) => {
    const topic = end.status === 'Completed' ? notifications.successTopicArn : notifications.errorTopicArn
    if (topic !== undefined) publish(topic, inferenceResultMessage(job, end, region))
  }
}

/** Every topic named by the endpoints' NotificationConfigs. */
export const topicArnsOf = (configs: ReadonlyArray<{ notifications?: { successTopicArn?: string; errorTopicArn?: string } } | undefined>): string[] => [
  ...new Set(configs.flatMap((c) => [c?.notifications?.successTopicArn, c?.notifications?.errorTopicArn]).filter((a): a is string => a !== undefined)),
]
