import t from 'tap'
import { clipText, logSafeText, MODEL_TEXT_MAX_CHARS } from '../../src/lib/untrusted-text.js'

t.test('clipping', async (t) => {
  t.equal(clipText('short'), 'short')
  t.equal(clipText('x'.repeat(MODEL_TEXT_MAX_CHARS)), 'x'.repeat(MODEL_TEXT_MAX_CHARS), 'exactly the limit is kept whole')
  t.equal(clipText('x'.repeat(MODEL_TEXT_MAX_CHARS + 1)), `${'x'.repeat(MODEL_TEXT_MAX_CHARS)}…`)
  t.equal(clipText('ab😀cd', 3), 'ab…', 'a surrogate pair is not cut in half')
})

t.test('control characters become spaces in log text', async (t) => {
  t.equal(logSafeText('line one\r\nline two\tend'), 'line one line two end')
  t.equal(logSafeText('\u001b[31mred\u001b[0m'), '[31mred [0m', 'terminal escapes lose their ESC')
  t.equal(logSafeText('a\u0000b\u007fc\u0085d'), 'a b c d')
  t.equal(logSafeText('abc\u202edcba'), 'abc dcba', 'bidi overrides')
  t.equal(logSafeText('  \n '), '')
  t.equal(logSafeText('é ü 日本'), 'é ü 日本', 'other text is untouched')
  t.equal(logSafeText('\n'.repeat(5000) + 'x'.repeat(3000)).length, MODEL_TEXT_MAX_CHARS + 1, 'clipped after stripping')
})
