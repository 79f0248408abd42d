import t from 'tap'
import {
  boolean, checkSecret, enum as enumOf, integer, InvalidValue, isExampleSecret, list, makeValidator, number, oneOf, parseUrl,
  port, secret, splitList, string, url, type Variable
} from '../src/index.js'

function refusalOf (variable: Variable<unknown>, input: string): { message: string, fix: string | undefined } {
  try {
    variable.parse(input)
  } catch (error) {
    if (error instanceof InvalidValue) return { message: error.message, fix: error.fix }
    throw error
  }
  throw new Error(`expected ${input} to be refused`)
}

t.test('string keeps the text as given', async (t) => {
  t.equal(string().parse('  a b  '), '  a b  ')
})

t.test('number accepts decimals within its range', async (t) => {
  t.equal(number().parse(' 0.25 '), 0.25)
  t.equal(number({ min: -1, max: 1 }).parse('-0.5'), -0.5)
  for (const input of ['1e3', 'NaN', 'Infinity', '.5', '1.', 'abc', '']) t.equal(refusalOf(number(), input).message, 'must be a number from 0 to 9007199254740991', input)
  t.equal(refusalOf(number({ min: 1, max: 2 }), '2.5').message, 'must be a number from 1 to 2')
})

t.test('integer accepts whole numbers within its range, negative ones when min allows', async (t) => {
  t.equal(integer().parse(' 42 '), 42)
  t.equal(integer({ min: -10 }).parse('-10'), -10)
  for (const input of ['-1', '1.5', '0x10', '9007199254740993', 'ten']) t.equal(refusalOf(integer(), input).message, 'must be a whole number from 0 to 9007199254740991', input)
  t.equal(refusalOf(integer({ min: 1, max: 5 }), '6').message, 'must be a whole number from 1 to 5')
})

t.test('port is a whole number from 0 to 65535', async (t) => {
  t.equal(port().parse('0'), 0)
  t.equal(port().parse('65535'), 65535)
  t.equal(refusalOf(port(), '65536').message, 'must be a whole number from 0 to 65535')
})

t.test('boolean reads the usual spellings in any case', async (t) => {
  for (const input of ['true', 'TRUE', '1', 'yes', ' on ']) t.equal(boolean().parse(input), true, input)
  for (const input of ['false', 'False', '0', 'no', 'off']) t.equal(boolean().parse(input), false, input)
  t.equal(refusalOf(boolean(), 'maybe').message, 'must be true or false')
})

t.test('oneOf (exported as enum) accepts the listed values only', async (t) => {
  t.equal(oneOf(['a', 'b']).parse(' b '), 'b')
  t.equal(enumOf(['a', 'b']).parse('a'), 'a')
  t.equal(refusalOf(oneOf(['a', 'b']), 'A').message, 'must be one of: a, b')
})

t.test('url checks the scheme and normalises the URL', async (t) => {
  t.equal(url().parse('https://Example.org/'), 'https://example.org')
  t.equal(url().parse('http://example.org/a/?q=1'), 'http://example.org/a/?q=1')
  t.equal(url({ protocols: ['redis:', 'rediss:'] }).parse('rediss://:pw@cache:6380'), 'rediss://:pw@cache:6380')
  t.equal(refusalOf(url(), 'example.org').message, 'is not a valid URL')
  t.equal(refusalOf(url(), 'ftp://example.org').message, 'must start with http:// or https://')
})

t.test('parseUrl returns the trimmed input as a URL, or throws InvalidValue naming the schemes accepted', async (t) => {
  const parsed = parseUrl(' https://Example.org:8443/a/ ', ['https:'])
  t.ok(parsed instanceof URL)
  t.equal(parsed.href, 'https://example.org:8443/a/', 'not normalised beyond what URL does')
  t.equal(parseUrl('redis://cache:6379', ['redis:', 'rediss:']).port, '6379')
  t.throws(() => parseUrl('example.org', ['https:']), new InvalidValue('is not a valid URL'))
  t.throws(() => parseUrl('http://example.org', ['https:']), new InvalidValue('must start with https://'))
  t.throws(() => parseUrl('ftp://example.org', ['redis:', 'rediss:']), new InvalidValue('must start with redis:// or rediss://'))
  const sameCheck = makeValidator((input) => parseUrl(input, ['https:']).host)()
  t.equal(sameCheck.parse('https://api.example.org/v1'), 'api.example.org', 'usable inside a validator of your own')
  t.equal(refusalOf(sameCheck, 'http://api.example.org').message, 'must start with https://')
})

t.test('list splits on commas and parses each item with `of`', async (t) => {
  t.same(list().parse(' a, b ,,c '), ['a', 'b', 'c'])
  t.same(list({ of: integer({ max: 9 }) }).parse('1,2'), [1, 2])
  t.equal(refusalOf(list({ of: integer({ max: 9 }) }), '1,20').message, 'must be a whole number from 0 to 9')
  t.same(splitList(' , '), [])
})

t.test('makeValidator builds a validator of your own; its InvalidValue fix wins over the variable\'s', async (t) => {
  const hex = makeValidator((input) => {
    if (!/^[0-9a-f]+$/.test(input)) throw new InvalidValue('must be hexadecimal', 'use 0-9 and a-f')
    return Buffer.from(input, 'hex')
  })
  const variable = hex({ description: 'a key', fix: 'e.g. ab12', secret: true })
  t.same(variable.parse('ab12'), Buffer.from([0xab, 0x12]))
  t.same(refusalOf(variable, 'xyz'), { message: 'must be hexadecimal', fix: 'use 0-9 and a-f' })
  t.equal(variable.secret, true)
  t.equal(variable.description, 'a key')
})

t.test('a validator carries its description, fix, secret flag and defaults', async (t) => {
  const variable = integer({ description: 'workers', fix: 'e.g. 4', default: 4, devDefault: 1 })
  t.match(variable, { description: 'workers', fix: 'e.g. 4', secret: false, default: 4, devDefault: 1 })
  t.notOk('default' in integer(), 'no default key without a default')
  t.ok('default' in integer({ default: undefined }), 'an undefined default makes the variable optional')
})

t.test('production rules run on defined values only', async (t) => {
  const variable = string({ default: undefined, production: () => 'always wrong' })
  t.equal(variable.checkProduction(undefined), undefined)
  t.same(variable.checkProduction('x'), { problem: 'always wrong' })
})

t.test('secret checks strength in production only, through checkProduction', async (t) => {
  const variable = secret({ minLength: 8 })
  t.equal(variable.parse('short'), 'short', 'any value parses')
  t.match(variable.checkProduction('short'), { problem: 'is 5 characters long; at least 8 are required', fix: /randomBytes/ })
  t.equal(variable.checkProduction('Zq8vN3kLw0pR'), undefined)
})

t.test('example values are recognised case-insensitively and across separators', async (t) => {
  for (const value of ['django-insecure-abc', 'CHANGE_THIS_NOW', 'please-change-me', 'Your-Secret', 'my_example_key',
    'TEST-KEY-1', 'secret_key_for_dev', 'Password1', 'aaaaaaaaaaaaaa']) {
    t.ok(isExampleSecret(value), value)
  }
  for (const value of ['Zq8vN3kLw0pR7tYb2mXc5fHj9sGd4aEu', 'ab']) t.notOk(isExampleSecret(value), value)
})

t.test('checkSecret reports length before content', async (t) => {
  t.equal(checkSecret('changeme', 50), 'is 8 characters long; at least 50 are required')
  t.equal(checkSecret('x'.repeat(60), 50), 'looks like an example or placeholder value')
  t.equal(checkSecret('Zq8vN3kLw0pR7tYb2mXc5fHj9sGd4aEu', 32), undefined)
})
