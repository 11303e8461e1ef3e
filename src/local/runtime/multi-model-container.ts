import { containerRequest, readHead } from './container-client.js'

/** Container answers to the MME management calls are small JSON; more than this is not read. */
const MANAGEMENT_BODY_MAX_BYTES = 64 * 1024

export interface ManagementAnswer {
  status: number
  body: string
}

/**
 * MME container contract, load: `POST /models` with `{"model_name": <id>, "url": <dir>}`; 200 loaded,
 * 409 already loaded, 507 out of memory (sagemaker-notes).
 */
export async function loadModelInContainer(containerUrl: string, modelName: string, modelDir: string, signal: AbortSignal): Promise<ManagementAnswer> {
  const body = Buffer.from(JSON.stringify({ model_name: modelName, url: modelDir }))
  const res = await containerRequest({
    containerUrl,
    path: 'models',
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
    body,
    signal,
  })
  return { status: res.statusCode ?? 0, body: (await readHead(res, MANAGEMENT_BODY_MAX_BYTES)).toString('utf8') }
}

/** MME container contract, unload: `DELETE /models/{model_name}` (404 when it was not loaded). */
export async function unloadModelInContainer(containerUrl: string, modelName: string, signal: AbortSignal): Promise<ManagementAnswer> {
  const res = await containerRequest({
    containerUrl,
    path: `models/${encodeURIComponent(modelName)}`,
    method: 'DELETE',
    headers: { 'Content-Length': '0' },
    signal,
  })
  return { status: res.statusCode ?? 0, body: (await readHead(res, MANAGEMENT_BODY_MAX_BYTES)).toString('utf8') }
}

/** The path of a loaded model's invocations (MME contract: `POST /models/{model_name}/invoke`). */
export const invokePath = (modelName: string): string => `models/${encodeURIComponent(modelName)}/invoke`
