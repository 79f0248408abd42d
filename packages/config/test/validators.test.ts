import { cleanEnv } from 'envalid'
import t from 'tap'
import { checkSecret, isExampleSecret, secret } from '../src/index.js'

t.test('secret() validates a service\'s own secrets with envalid, never echoing them', async (t) => {
  const strong = 'p9Xr2LqV7mW4nZ8kT1yB6cF3hJ0sD5gA'
  t.equal(cleanEnv({ API_KEY: strong }, { API_KEY: secret({ minLength: 32 })() }).API_KEY, strong)
  t.equal(cleanEnv({ API_KEY: 'Zx9' }, { API_KEY: secret({ minLength: 3 })() }).API_KEY, 'Zx9')
  const errors: string[] = []
  cleanEnv({ API_KEY: 'your-secret-here-your-secret-here' }, { API_KEY: secret()() }, {
    reporter: ({ errors: found }) => { for (const error of Object.values(found)) errors.push(String(error?.message)) }
  })
  t.same(errors, ['looks like an example or placeholder value'])
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
