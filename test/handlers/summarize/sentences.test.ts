import t from 'tap'
import { MAX_SENTENCE_CHARS, splitSentences } from '../../../handlers/summarize/sentences.js'

t.test('abbreviations, initials and decimals do not end a sentence', async (t) => {
  t.same(
    splitSentences(
      'Dr. Smith arrived at 3.30 p.m. on Monday. He met e.g. the mayor. The U.S. economy grew 2.5% last year! ' +
        'J. R. R. Tolkien wrote books. See Fig. 3 for details.',
    ),
    [
      'Dr. Smith arrived at 3.30 p.m. on Monday.',
      'He met e.g. the mayor.',
      'The U.S. economy grew 2.5% last year!',
      'J. R. R. Tolkien wrote books.',
      'See Fig. 3 for details.',
    ],
  )
})

t.test('questions, exclamations, closing quotes and ellipses end sentences', async (t) => {
  t.same(splitSentences('Did it work? Yes! He said "Stop." Then he left... Nobody followed.'), [
    'Did it work?',
    'Yes!',
    'He said "Stop."',
    'Then he left...',
    'Nobody followed.',
  ])
})

t.test('a blank line separates sentences even without punctuation, and whitespace collapses', async (t) => {
  t.same(splitSentences('A heading\n\nThe   body\nwraps here. Last one'), ['A heading', 'The body wraps here.', 'Last one'])
})

t.test('text without punctuation is cut into bounded pieces', async (t) => {
  const pieces = splitSentences('word '.repeat(1000))
  t.ok(pieces.length >= 5)
  t.ok(pieces.every((piece) => piece.length <= MAX_SENTENCE_CHARS))
  t.equal(pieces.join(' '), 'word '.repeat(1000).trim())
})
