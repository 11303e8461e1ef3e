// The seeds' own code against the local stack: a text uploaded to S3 with `ContentType: text/plain`
// on the object, then InvokeEndpointAsync with only EndpointName and InputLocation (no ContentType).
// On AWS the Hugging Face container decides from the body; the local summarize container must too.
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { InvokeEndpointAsyncCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import { createS3Client } from '../../src/clients/aws.js'
import { localEndpoints } from '../../src/local/defaults.js'
import { startLocalStack } from '../../src/local/stack.js'
import { asyncEndpoint, echoContainer, putInput, startStack, waitForObject } from './runtime/helpers.js'

const ARTICLE = [
  'The city council approved a new budget for public transport on Monday.',
  'My neighbour painted her fence blue last week.',
  'The budget adds forty electric buses and extends night service on six public transport routes.',
  'Council members said the transport budget would cut emissions and shorten commutes.',
  'It rained heavily on Tuesday afternoon.',
  'Transport officials expect the new buses to raise ridership on night routes.',
].join(' ')

const dataDir = await mkdtemp(join(tmpdir(), 'sagegate-seeds-'))
t.teardown(() => rm(dataDir, { recursive: true, force: true }))
const stack = await startLocalStack({
  dataDir,
  mode: 'in-process',
  logger: pino({ level: 'silent' }),
  endpoints: localEndpoints.filter((e) => e.name === 'summarize-async'),
})
t.teardown(() => stack.close())
const { region, credentials } = stack
const bucket = stack.s3.bucket
// Decided before any test starts (tap takes no new subtest once the file's tests have ended).
const boto3 = await run('python3', ['-c', 'import boto3'])

function assertSummary(t: Test, body: string): void {
  const parsed = JSON.parse(body) as Array<{ summary_text: string }>
  t.equal(parsed.length, 1)
  const summary = parsed[0]!.summary_text
  t.ok(summary.length > 0 && summary.length < ARTICLE.length, 'a summary, shorter than the text')
  for (const sentence of summary.split(/(?<=\.)\s+/)) t.ok(ARTICLE.includes(sentence), 'extractive')
}

t.test('the runtime hands the container no Content-Type when the async call has none', async (t) => {
  // Kept as sent: InvokeEndpointAsync has no default ContentType, and the container contract
  // (sagemaker-notes.md) forwards the async X-Amzn-SageMaker-Content-Type, which is absent here.
  const container = await echoContainer(t)
  const runtime = await startStack(t, [asyncEndpoint('echo-ep', container.url)])
  const input = await putInput(runtime.s3, 'in/seed.txt', 'hello', 'text/plain')
  const out = await runtime.sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'echo-ep', InputLocation: input }))
  await waitForObject(runtime.s3, out.OutputLocation!)
  t.equal(container.seen.length, 1)
  t.equal(container.seen[0]!.headers['content-type'], undefined, 'not application/octet-stream, not the S3 object’s type')
})

t.test('JS SDK: InvokeEndpointAsync without ContentType on a text/plain object completes with a summary', async (t) => {
  const s3 = createS3Client({ region, endpoint: stack.s3.endpoint, credentials, forcePathStyle: true })
  t.teardown(() => s3.destroy())
  const sagemaker = new SageMakerRuntimeClient({ region, endpoint: stack.sagemaker.endpoint, credentials })
  t.teardown(() => sagemaker.destroy())
  for (const [key, body] of [
    ['seeds/article.txt', ARTICLE],
    ['seeds/article.json', JSON.stringify({ inputs: ARTICLE, parameters: { max_sentences: 2 } })],
  ] as const) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }))
    const out = await sagemaker.send(new InvokeEndpointAsyncCommand({ EndpointName: 'summarize-async', InputLocation: `s3://${bucket}/${key}` }))
    const result = await waitForObject(s3, out.OutputLocation!, 30_000)
    t.equal(result.contentType, 'application/json', key)
    assertSummary(t, result.body)
    if (key.endsWith('.json')) t.equal(JSON.parse(result.body)[0].summary_text.split('. ').length, 2, 'JSON parameters honoured')
  }
})

// The seeds' calls, word for word, in boto3; only the client construction points at the local stack.
const SEEDS_PY = `
import json, os, sys, time
import boto3
from botocore.config import Config

env = os.environ
common = dict(region_name=env['SEED_REGION'], aws_access_key_id=env['SEED_KEY_ID'], aws_secret_access_key=env['SEED_SECRET'])
s3 = boto3.client('s3', endpoint_url=env['SEED_S3'], config=Config(s3={'addressing_style': 'path'}), **common)
runtime = boto3.client('sagemaker-runtime', endpoint_url=env['SEED_SAGEMAKER'], **common)

bucket = env['SEED_BUCKET']
s3.put_object(Bucket=bucket, Key='seeds/boto3-article.txt', Body=env['SEED_TEXT'].encode('utf-8'), ContentType='text/plain')
response = runtime.invoke_endpoint_async(EndpointName='summarize-async', InputLocation=f's3://{bucket}/seeds/boto3-article.txt')

output = response['OutputLocation']
out_bucket, out_key = output[len('s3://'):].split('/', 1)
deadline = time.time() + 30
while True:
    try:
        obj = s3.get_object(Bucket=out_bucket, Key=out_key)
        break
    except s3.exceptions.NoSuchKey:
        if time.time() > deadline:
            sys.exit('no output after 30 s')
        time.sleep(0.2)
print(json.dumps({'contentType': obj['ContentType'], 'body': obj['Body'].read().decode('utf-8')}))
`

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

t.test('boto3: the seeds’ calls summarize against the local stack', { skip: boto3.code === 0 ? false : 'boto3 is not installed (python3 -c "import boto3" failed): pip install boto3 to run the seeds’ code' }, async (t) => {
  const result = await run('python3', ['-c', SEEDS_PY], {
    SEED_REGION: region,
    SEED_KEY_ID: credentials.accessKeyId,
    SEED_SECRET: credentials.secretAccessKey,
    SEED_S3: stack.s3.endpoint,
    SEED_SAGEMAKER: stack.sagemaker.endpoint,
    SEED_BUCKET: bucket,
    SEED_TEXT: ARTICLE,
  })
  t.equal(result.code, 0, result.stderr)
  const output = JSON.parse(result.stdout) as { contentType: string; body: string }
  t.equal(output.contentType, 'application/json')
  assertSummary(t, output.body)
})
