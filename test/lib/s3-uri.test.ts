import t from 'tap'
import { formatS3Uri, parseS3Uri } from '../../src/lib/s3-uri.js'

t.test('s3:// and https forms', async (t) => {
  t.same(parseS3Uri('s3://bucket/a/b.out'), { bucket: 'bucket', key: 'a/b.out' })
  t.same(parseS3Uri('https://bucket.s3.us-east-1.amazonaws.com/a/b%20c.out'), { bucket: 'bucket', key: 'a/b c.out' })
  t.same(parseS3Uri('http://127.0.0.1:9000/bucket/a/b.out'), { bucket: 'bucket', key: 'a/b.out' })
  t.equal(formatS3Uri({ bucket: 'b', key: 'k/x' }), 's3://b/k/x')
})

t.test('rejects what is not a location', async (t) => {
  for (const bad of ['s3://bucket', 's3://bucket/', 'ftp://h/b/k', 'not a url', 'http://host/bucket', 'http://host/bucket/']) {
    t.equal(parseS3Uri(bad), undefined, bad)
  }
})

t.test('a malformed escape is not a location', async (t) => {
  t.equal(parseS3Uri('https://s3.example.com/bucket/%E0%A4%A'), undefined)
})
