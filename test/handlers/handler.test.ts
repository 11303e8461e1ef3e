import t from 'tap'
import {
  HandlerError,
  isHandlerError,
  negotiateAccept,
  parseCustomAttributes,
  requireContentType,
} from '../../handlers/handler.js'

t.test('custom attributes: k=v pairs split on ; or , with whitespace trimmed', async (t) => {
  t.same(parseCustomAttributes(' fps = 2 ;scene_threshold=0.3, mode=fast,,; '), {
    fps: '2',
    scene_threshold: '0.3',
    mode: 'fast',
  })
  t.same(parseCustomAttributes('a=b=c; flag'), { a: 'b=c', flag: '' })
  t.same(parseCustomAttributes(undefined), {})
})

t.test('Accept: */*, empty and type/* fall back to the default; unknown types are 406', async (t) => {
  const produces = ['application/json', 'text/csv']
  t.equal(negotiateAccept('', produces, 'application/json'), 'application/json')
  t.equal(negotiateAccept('*/*', produces, 'application/json'), 'application/json')
  t.equal(negotiateAccept('text/*', produces, 'application/json'), 'text/csv')
  t.equal(negotiateAccept('image/png, text/csv;q=0.9', produces, 'application/json'), 'text/csv')
  t.equal(negotiateAccept('Application/JSON; charset=utf-8', produces, 'application/json'), 'application/json')
  t.throws(() => negotiateAccept('image/png', produces, 'application/json'), {
    name: 'HandlerError',
    statusCode: 406,
  })
})

t.test('Content-Type: parameters and case are ignored; others are 415', async (t) => {
  t.equal(requireContentType('Text/Plain; charset=UTF-8', ['text/plain']), 'text/plain')
  t.throws(() => requireContentType('', ['text/plain']), { statusCode: 415, message: /no content type/ })
})

t.test('isHandlerError recognises other copies of the class by name and status', async (t) => {
  t.ok(isHandlerError(new HandlerError(400, 'bad')))
  const foreign = Object.assign(new Error('x'), { name: 'HandlerError', statusCode: 422 })
  t.ok(isHandlerError(foreign))
  t.notOk(isHandlerError(Object.assign(new Error('x'), { name: 'HandlerError', statusCode: 200 })))
  t.notOk(isHandlerError(new Error('plain')))
})
