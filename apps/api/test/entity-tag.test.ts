import t from 'tap'
import { entityTag, evaluatePreconditions, parseEntityTags } from '../src/routes/entity-tag.js'

const current = entityTag({ id: 'a', title: 'One' })
const opaque = current.slice(1, -1)

t.test('an entity tag is strong, quoted, and follows every field of the representation', async (t) => {
  t.match(current, /^"[A-Za-z0-9_-]{43}"$/)
  t.equal(entityTag({ id: 'a', title: 'One' }), current, 'the same representation, the same tag')
  t.not(entityTag({ id: 'a', title: 'Two' }), current)
  t.not(entityTag({ id: 'a', title: 'One', updated_at: '2026-01-01T00:00:00.001Z' }), current)
})

t.test('If-Match and If-None-Match values are read as RFC 9110 lists', async (t) => {
  t.equal(parseEntityTags('*'), '*')
  t.equal(parseEntityTags('  *  '), '*')
  t.same(parseEntityTags('"a"'), [{ weak: false, opaque: 'a' }])
  t.same(parseEntityTags('W/"a", "b,c" ,, "",'), [{ weak: true, opaque: 'a' }, { weak: false, opaque: 'b,c' }, { weak: false, opaque: '' }], 'commas inside quotes, empty elements, an empty tag')
  t.same(parseEntityTags('"\xe9"'), [{ weak: false, opaque: '\xe9' }], 'obs-text')
  for (const malformed of ['', ' ', ',', 'a', '"a', 'a"', '"a" "b"', '"a"x', 'w/"a"', 'W/ "a"', '"a", *', '* , "a"', '"a b"', '"a\\"b"', '"\x01"']) {
    t.equal(parseEntityTags(malformed), null, `malformed: ${JSON.stringify(malformed)}`)
  }
})

t.test('preconditions are evaluated in RFC 9110 order', async (t) => {
  const cases: Array<[string, Record<string, string>, string, string]> = [
    ['no condition', {}, 'GET', 'proceed'],
    ['If-None-Match with the current tag, read', { 'if-none-match': current }, 'GET', 'not_modified'],
    ['If-None-Match with the current tag, HEAD', { 'if-none-match': current }, 'HEAD', 'not_modified'],
    ['If-None-Match with the weak current tag (weak comparison)', { 'if-none-match': `W/${current}` }, 'GET', 'not_modified'],
    ['If-None-Match listing the current tag among others', { 'if-none-match': `"old", ${current}` }, 'GET', 'not_modified'],
    ['If-None-Match: *, read', { 'if-none-match': '*' }, 'GET', 'not_modified'],
    ['If-None-Match with another tag', { 'if-none-match': '"old"' }, 'GET', 'proceed'],
    ['a malformed If-None-Match, read: ignored', { 'if-none-match': opaque }, 'GET', 'proceed'],
    ['a malformed If-None-Match, write: refused', { 'if-none-match': opaque }, 'PATCH', 'failed'],
    ['If-None-Match with the current tag, write', { 'if-none-match': current }, 'PATCH', 'failed'],
    ['If-None-Match with another tag, write', { 'if-none-match': '"old"' }, 'DELETE', 'proceed'],
    ['If-Match with the current tag', { 'if-match': current }, 'PATCH', 'proceed'],
    ['If-Match listing the current tag', { 'if-match': `"old", ${current}` }, 'PATCH', 'proceed'],
    ['If-Match: *', { 'if-match': '*' }, 'DELETE', 'proceed'],
    ['If-Match with a stale tag', { 'if-match': '"old"' }, 'PATCH', 'failed'],
    ['If-Match with the weak current tag (strong comparison)', { 'if-match': `W/${current}` }, 'PATCH', 'failed'],
    ['a malformed If-Match (the tag without quotes)', { 'if-match': opaque }, 'PATCH', 'failed'],
    ['a stale If-Match on a read', { 'if-match': '"old"' }, 'GET', 'failed'],
    ['If-Match first: a stale one fails before a matching If-None-Match', { 'if-match': '"old"', 'if-none-match': current }, 'GET', 'failed'],
    ['both holding, read', { 'if-match': current, 'if-none-match': current }, 'GET', 'not_modified']
  ]
  for (const [name, headers, method, outcome] of cases) t.equal(evaluatePreconditions(headers, method, current), outcome, name)
})
