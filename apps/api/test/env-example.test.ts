import { readFile } from 'node:fs/promises'
import { parseEnv } from 'node:util'
import t from 'tap'
import { allVariables, renderEnvExample } from '../src/config/env-example.js'
import { loadApiConfig } from '../src/config/index.js'
import { ENV_EXAMPLE_FILE } from '../src/config/repository-paths.js'

const REGENERATE = 'regenerate it with: pnpm run generate:env-example'

t.test('.env.example lists exactly the variables the loaded configuration has, each once', async (t) => {
  const text = await readFile(ENV_EXAMPLE_FILE, 'utf8')
  const listed = [...text.matchAll(/^# ([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1])
  const { config } = await loadApiConfig({ NODE_ENV: 'test' })
  t.same([...listed].sort(), Object.keys(config).sort(), REGENERATE)
  t.equal(new Set(listed).size, listed.length, 'no variable twice')
  t.same(listed, Object.keys(allVariables), 'in the schema\'s order')
})

t.test('.env.example is what the schema generates', async (t) => {
  t.equal(await readFile(ENV_EXAMPLE_FILE, 'utf8'), renderEnvExample(), REGENERATE)
})

t.test('copied to .env unchanged it sets nothing; each line, uncommented, holds the development value', async (t) => {
  const text = renderEnvExample()
  t.same(parseEnv(text), {}, 'every line is a comment')
  const uncommented = parseEnv(text.replace(/^# ([A-Z][A-Z0-9_]*=)/gm, '$1'))
  const { config: fromFile } = await loadApiConfig(uncommented)
  const { config: fromDefaults } = await loadApiConfig({})
  const differing = Object.keys(fromDefaults).filter((name) => name !== 'SECRET_KEY' && JSON.stringify(fromFile[name as keyof typeof fromFile]) !== JSON.stringify(fromDefaults[name as keyof typeof fromDefaults]))
  t.same(differing, [], 'the same configuration as no variable at all (SECRET_KEY is random each time)')
  t.match(text, '# server-side HMAC key that signs pagination cursors\n# development: generated at each start; required in production; secret\n# SECRET_KEY=\n')
  t.match(text, '# listen address\n# production default: 0.0.0.0\n# HOST=127.0.0.1\n')
  t.match(text, /# DEV_KEYS_DIR=\n/)
})
