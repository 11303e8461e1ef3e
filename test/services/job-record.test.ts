import t from 'tap'
import { describeFailure, FAILURE_SUMMARIES } from '../../src/services/job-record.js'

t.test("a model's error body: ModelError with the fixed summary; its text only for the log", async (t) => {
  const f = describeFailure('{"error":"Traceback (most recent call last):\\n  File \\"/opt/ml/model/code/inference.py\\""}')
  t.same(f, {
    expired: false,
    code: 'ModelError',
    message: FAILURE_SUMMARIES.ModelError,
    modelMessage: 'Traceback (most recent call last):   File "/opt/ml/model/code/inference.py"',
  })
  t.equal(describeFailure('plain text\r\nfrom the container').modelMessage, 'plain text from the container', 'not JSON: the whole body')
  t.equal(describeFailure('').modelMessage, '(empty)')
  t.equal(describeFailure('x'.repeat(5000)).modelMessage.length, 2001, 'clipped')
})

t.test("the runtime's own codes keep their code, with their fixed summary", async (t) => {
  for (const code of ['InvocationTimeout', 'InputDownloadFailed', 'ModelInvocationFailed'] as const) {
    const f = describeFailure(JSON.stringify({ errorCode: code, errorMessage: 'Failed to download the input from s3://bucket/secret/key: 403' }))
    t.match(f, { expired: false, code, message: FAILURE_SUMMARIES[code] }, code)
    t.notMatch(f.message, /s3:\/\//, 'no location reaches the client')
  }
})

t.test('expiry is kept: RequestExpired makes the job expired', async (t) => {
  const f = describeFailure('{"errorCode":"RequestExpired","errorMessage":"Request expired: not processed within RequestTTLSeconds (60)"}')
  t.match(f, { expired: true, code: 'RequestExpired', message: FAILURE_SUMMARIES.RequestExpired })
})

t.test('a code the model made up is ModelError to the client, kept for the log', async (t) => {
  const f = describeFailure('{"ErrorCode":"<b>CUDA_OOM</b>","message":"out of memory"}')
  t.match(f, { code: 'ModelError', message: FAILURE_SUMMARIES.ModelError, modelErrorCode: '<b>CUDA_OOM</b>', modelMessage: 'out of memory' })
  t.equal(describeFailure('{"errorCode":"toString"}').code, 'ModelError', 'not an inherited property name')
})
