import t from 'tap'
import { build, databaseEnv } from './helpers/build.js'

t.test('GET /docs/json is the OpenAPI document of every route, with request and response schemas', async (t) => {
  const app = await build(t, await databaseEnv(t, 'docs'))
  const response = await app.inject('/docs/json')
  t.equal(response.statusCode, 200)
  const document = response.json()
  t.equal(document.openapi, '3.1.0')
  t.equal(document.info.title, 'muejam API')
  t.match(document.info.version, /^\d+\.\d+\.\d+/)
  t.same(Object.keys(document.paths).sort(), ['/v1/me', '/v1/stories', '/v1/stories/{id}', '/v1/stories/{id}/chapters', '/v1/stories/{id}/chapters/{position}'])
  t.same(Object.keys(document.paths['/v1/stories/{id}']).sort(), ['delete', 'get', 'patch'])
  const create = document.paths['/v1/stories'].post
  t.same(create.security, [{ bearer: [] }])
  t.equal(create.requestBody.content['application/json'].schema.additionalProperties, false)
  t.match(create.requestBody.content['application/json'].schema.properties.title, { type: 'string', minLength: 1, maxLength: 200 })
  t.ok(create.responses['201'], 'a 201 response schema')
  t.ok(create.responses['400'], 'problem responses')
  t.match(document.paths['/v1/stories'].get.parameters, [{ name: 'limit', in: 'query' }, { name: 'cursor', in: 'query' }])
  t.match(document.paths['/v1/stories/{id}/chapters'].get.parameters, [{ name: 'limit', in: 'query', schema: { default: 50, maximum: 100 } }, { name: 'cursor', in: 'query' }, { name: 'id', in: 'path' }])
  t.ok(document.paths['/v1/stories/{id}/chapters'].post.responses['409'], 'the append documents its 409')
  t.match(document.paths['/v1/stories/{id}/chapters/{position}'].get.parameters, [{ name: 'id', in: 'path', schema: { pattern: /^\^\[0-9a-fA-F\]\{8\}-/ } }, { name: 'position', in: 'path', schema: { minimum: 1, maximum: 1000 } }])
  t.same(document.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
})
