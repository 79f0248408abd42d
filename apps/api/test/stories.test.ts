import type { AddressInfo } from 'node:net'
import type { InjectOptions } from 'fastify'
import t from 'tap'
import { send } from './helpers/api-process.js'
import { authHeaders } from './helpers/auth.js'
import { build, databaseEnv, inspectDatabase } from './helpers/build.js'
import { createStory, rowCounts } from './helpers/stories.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

t.test('story API', async (t) => {
  const env = await databaseEnv(t, 'stories')
  const logs: Array<Record<string, unknown>> = []
  const app = await build(t, env, { logs })
  const db = inspectDatabase(t, env.DATABASE_URL)

  t.test('POST /v1/stories creates a draft with its chapters in order, values trimmed', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/stories',
      headers: authHeaders('user_2abcAuthor1'),
      body: {
        title: '  The Long Night  ',
        description: ' A story. ',
        chapters: [{ title: 'One', content: 'It began.' }, { title: ' Two ', content: '  It went on.\n' }]
      }
    })
    t.equal(response.statusCode, 201)
    const story = response.json()
    t.match(story, {
      id: UUID,
      title: 'The Long Night',
      description: 'A story.',
      status: 'draft',
      published_at: null,
      author: { id: UUID, handle: /^reader_[a-z2-7]{10}$/, display_name: story.author.handle }
    })
    t.same(story.chapters.map((c: { position: number, title: string, content: string }) => [c.position, c.title, c.content]), [
      [1, 'One', 'It began.'],
      [2, 'Two', 'It went on.']
    ])
    t.ok(!story.author.handle.includes('2abc'), 'the handle is not taken from the Clerk id')
  })

  t.test('GET /v1/stories/:id: a published story for anyone, a draft for its author only', async (t) => {
    const draft = await createStory(app, 'user_2abcWriterA', { title: 'Draft' })
    const published = await createStory(app, 'user_2abcWriterA', { title: 'Out', publish: true })
    t.equal(published.status, 'published')
    t.ok(published.published_at !== null)

    t.equal((await app.inject(`/v1/stories/${published.id}`)).statusCode, 200, 'anonymous reads a published story')
    const own = await app.inject({ url: `/v1/stories/${draft.id}`, headers: authHeaders('user_2abcWriterA') })
    t.equal(own.statusCode, 200, 'the author reads the draft')
    const { chapters: _chapters, ...withoutChapters } = draft
    t.same(own.json(), withoutChapters)
    for (const headers of [{}, authHeaders('user_2abcWriterB')]) {
      const response = await app.inject({ url: `/v1/stories/${draft.id}`, headers })
      t.equal(response.statusCode, 404)
      t.equal(response.json().code, 'story_not_found')
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    }
    const chapters = await app.inject({ url: `/v1/stories/${draft.id}/chapters`, headers: authHeaders('user_2abcWriterB') })
    t.equal(chapters.statusCode, 404, 'a draft\'s chapters are as hidden as the draft')
    t.equal((await app.inject('/v1/stories/6a0b5cf2-0000-4000-8000-000000000000')).statusCode, 404, 'an unknown id')
  })

  t.test('PATCH /v1/stories/:id: the author changes it; others get 403, or 404 for a draft', async (t) => {
    const published = await createStory(app, 'user_2abcPatcher', { title: 'Before', description: 'Old', publish: true })
    const draft = await createStory(app, 'user_2abcPatcher', { title: 'Hidden' })

    const changed = await app.inject({ method: 'PATCH', url: `/v1/stories/${published.id}`, headers: authHeaders('user_2abcPatcher'), body: { title: ' After ', description: null } })
    t.equal(changed.statusCode, 200)
    t.match(changed.json(), { title: 'After', description: null, status: 'published', published_at: published.published_at })
    t.ok(Date.parse(changed.json().updated_at) > Date.parse(published.updated_at), 'updated_at moves forward')

    const unpublished = await app.inject({ method: 'PATCH', url: `/v1/stories/${published.id}`, headers: authHeaders('user_2abcPatcher'), body: { publish: false, description: '' } })
    t.match(unpublished.json(), { status: 'draft', published_at: null, description: null })
    const republished = await app.inject({ method: 'PATCH', url: `/v1/stories/${published.id}`, headers: authHeaders('user_2abcPatcher'), body: { publish: true, description: 'New' } })
    t.match(republished.json(), { status: 'published', description: 'New' })
    const again = await app.inject({ method: 'PATCH', url: `/v1/stories/${published.id}`, headers: authHeaders('user_2abcPatcher'), body: { publish: true } })
    t.equal(again.json().published_at, republished.json().published_at, 'publishing again keeps the first publication time')

    const before = await rowCounts(db)
    const forbidden = await app.inject({ method: 'PATCH', url: `/v1/stories/${published.id}`, headers: authHeaders('user_2abcIntruder'), body: { title: 'Mine now' } })
    t.equal(forbidden.statusCode, 403)
    t.equal(forbidden.json().code, 'forbidden')
    const hidden = await app.inject({ method: 'PATCH', url: `/v1/stories/${draft.id}`, headers: authHeaders('user_2abcIntruder'), body: { title: 'Mine now' } })
    t.equal(hidden.statusCode, 404)
    t.equal(hidden.json().code, 'story_not_found')
    const anonymous = await app.inject({ method: 'PATCH', url: `/v1/stories/${published.id}`, body: { title: 'Mine now' } })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'unauthenticated')
    t.equal(anonymous.headers['www-authenticate'], 'Bearer')
    t.same(await rowCounts(db), before, 'nothing was created')
    t.equal((await app.inject(`/v1/stories/${published.id}`)).json().title, 'After', 'nothing changed')
  })

  t.test('chapters: listed in order; appended by the author only', async (t) => {
    const story = await createStory(app, 'user_2abcChapters', { title: 'Serial', publish: true, chapters: [{ title: 'First', content: 'a' }] })
    const appended = await app.inject({ method: 'POST', url: `/v1/stories/${story.id}/chapters`, headers: authHeaders('user_2abcChapters'), body: { title: 'Second', content: 'b' } })
    t.equal(appended.statusCode, 201)
    t.match(appended.json(), { story_id: story.id, position: 2, title: 'Second', content: 'b' })
    const list = await app.inject(`/v1/stories/${story.id}/chapters`)
    t.equal(list.statusCode, 200)
    t.same(list.json().items.map((c: { position: number }) => c.position), [1, 2])

    const before = await rowCounts(db)
    const refused = await app.inject({ method: 'POST', url: `/v1/stories/${story.id}/chapters`, headers: authHeaders('user_2abcSomeoneElse'), body: { title: 'Third', content: 'c' } })
    t.equal(refused.statusCode, 403)
    t.equal(refused.json().code, 'forbidden')
    const draft = await createStory(app, 'user_2abcChapters', { title: 'Draft serial' })
    const afterDraft = await rowCounts(db)
    const hidden = await app.inject({ method: 'POST', url: `/v1/stories/${draft.id}/chapters`, headers: authHeaders('user_2abcSomeoneElse'), body: { title: 'x', content: 'y' } })
    t.equal(hidden.statusCode, 404)
    t.equal((await app.inject({ method: 'POST', url: '/v1/stories/6a0b5cf2-0000-4000-8000-000000000000/chapters', headers: authHeaders('user_2abcChapters'), body: { title: 'x', content: 'y' } })).statusCode, 404)
    t.equal((await app.inject({ method: 'POST', url: `/v1/stories/${story.id}/chapters`, body: { title: 'x', content: 'y' } })).statusCode, 401)
    t.same(await rowCounts(db), { ...afterDraft }, 'no chapter was added')
    t.equal(afterDraft.chapters, before.chapters)
  })

  t.test('DELETE /v1/stories/:id: the author soft-deletes; the story is gone for everyone', async (t) => {
    const story = await createStory(app, 'user_2abcDeleter', { title: 'Short-lived', publish: true, chapters: [{ title: 'c', content: 'c' }] })
    const refused = await app.inject({ method: 'DELETE', url: `/v1/stories/${story.id}`, headers: authHeaders('user_2abcNotTheAuthor') })
    t.equal(refused.statusCode, 403)
    t.equal(refused.json().code, 'forbidden')
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${story.id}` })).statusCode, 401)

    const deleted = await app.inject({ method: 'DELETE', url: `/v1/stories/${story.id}`, headers: authHeaders('user_2abcDeleter') })
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.body, '')
    for (const url of [`/v1/stories/${story.id}`, `/v1/stories/${story.id}/chapters`]) {
      t.equal((await app.inject({ url, headers: authHeaders('user_2abcDeleter') })).statusCode, 404, `${url} is gone, even for the author`)
    }
    const feed = await app.inject('/v1/stories?limit=100')
    t.notOk(feed.json().items.some((item: { id: string }) => item.id === story.id), 'and out of the feed')
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${story.id}`, headers: authHeaders('user_2abcDeleter') })).statusCode, 404, 'deleting twice')
    t.equal((await app.inject({ method: 'PATCH', url: `/v1/stories/${story.id}`, headers: authHeaders('user_2abcDeleter'), body: { title: 'back' } })).statusCode, 404)
    const row = await db.selectFrom('stories').select(['deleted_at']).where('id', '=', story.id).executeTakeFirstOrThrow()
    t.ok(row.deleted_at instanceof Date, 'the row stays, marked deleted')
    t.equal((await db.selectFrom('chapters').select('id').where('story_id', '=', story.id).execute()).length, 1, 'with its chapters')
  })

  t.test('DELETE by an active moderator works on anyone\'s story; a revoked role is refused on the next request', async (t) => {
    const moderator = 'user_2abcModerator'
    const profile = await db.insertInto('user_profiles').values({ clerk_user_id: moderator, handle: 'reader_moderator', display_name: 'Moderator' })
      .returning('id').executeTakeFirstOrThrow()
    await db.insertInto('moderator_roles').values({ user_id: profile.id, role: 'moderator' }).execute()

    const published = await createStory(app, 'user_2abcVictim', { title: 'Spam', publish: true })
    const draft = await createStory(app, 'user_2abcVictim', { title: 'Spam draft' })
    const response = await app.inject({ method: 'DELETE', url: `/v1/stories/${published.id}`, headers: authHeaders(moderator) })
    t.equal(response.statusCode, 204)
    t.match(logs.find((line) => line.event === 'story.deleted_by_moderator' && line.target === published.id), {
      audit: true, actor: moderator, outcome: 'success', request_id: response.headers['x-request-id']
    }, 'an audit line for the moderator action')
    t.equal((await app.inject({ method: 'DELETE', url: `/v1/stories/${draft.id}`, headers: authHeaders(moderator) })).statusCode, 204, 'drafts too')

    const other = await createStory(app, 'user_2abcVictim', { title: 'Keep', publish: true })
    await db.updateTable('moderator_roles').set({ is_active: false }).where('user_id', '=', profile.id).execute()
    const refused = await app.inject({ method: 'DELETE', url: `/v1/stories/${other.id}`, headers: authHeaders(moderator) })
    t.equal(refused.statusCode, 403, 'the revoked role is refused at once: authorisation reads the primary, not a cache')
    t.equal(refused.json().code, 'forbidden')
    t.ok(await db.selectFrom('stories').select('id').where('id', '=', other.id).where('deleted_at', 'is', null).executeTakeFirst(), 'the story is still there')
  })

  t.test('GET /v1/me creates the profile once and answers it afterwards', async (t) => {
    const first = await app.inject({ url: '/v1/me', headers: authHeaders('user_2abcNewcomer') })
    t.equal(first.statusCode, 200)
    const audits = logs.filter((line) => line.event === 'user.first_sign_in' && line.actor === 'user_2abcNewcomer')
    t.match(audits, [{ audit: true, target: first.json().id, outcome: 'success', request_id: first.headers['x-request-id'] }], 'one audit line for the first sign-in')
    t.match(first.json(), { id: UUID, user_id: 'user_2abcNewcomer', handle: /^reader_[a-z2-7]{10}$/ })
    const second = await app.inject({ url: '/v1/me', headers: authHeaders('user_2abcNewcomer') })
    t.same(second.json(), first.json())
    const anonymous = await app.inject('/v1/me')
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'unauthenticated')
  })
})

t.test('ids are read only in the canonical 8-4-4-4-12 hex form: every near miss is a 400 on every route, and changes nothing', async (t) => {
  const env = await databaseEnv(t, 'story_ids')
  const app = await build(t, env)
  const db = inspectDatabase(t, env.DATABASE_URL)
  const author = 'user_2abcIdForms'
  const story = await createStory(app, author, { title: 'Canonical', publish: true, chapters: [{ title: 'One', content: 'Text' }] })
  const id = story.id
  const before = await rowCounts(db)

  const upper = await app.inject(`/v1/stories/${id.toUpperCase()}`)
  t.equal(upper.statusCode, 200, 'upper case is the same id')
  t.equal(upper.json().id, id)
  t.equal((await app.inject(`/v1/stories/${id.toUpperCase()}/chapters/1`)).statusCode, 200, 'on the chapter routes too')

  const nearMisses = {
    'a urn:uuid: prefix': `urn:uuid:${id}`,
    braces: `{${id}}`,
    'no dashes': id.replaceAll('-', ''),
    'a dash moved': `${id.slice(0, 7)}-${id.slice(7, 8)}${id.slice(9)}`,
    'an extra digit': `${id}0`,
    'a digit short': id.slice(1),
    'a trailing space': `${id} `,
    'a trailing newline': `${id}\n`,
    'a non-hex letter': `g${id.slice(1)}`,
    'a full-width digit': `\uff10${id.slice(1)}`
  }
  for (const [name, bad] of Object.entries(nearMisses)) {
    const path = `/v1/stories/${encodeURIComponent(bad)}`
    const requests: InjectOptions[] = [
      { url: path },
      { method: 'PATCH', url: path, headers: authHeaders(author), body: { title: 'Changed' } },
      { method: 'DELETE', url: path, headers: authHeaders(author) },
      { url: `${path}/chapters` },
      { method: 'POST', url: `${path}/chapters`, headers: authHeaders(author), body: { title: 'Two', content: 'More' } },
      { url: `${path}/chapters/1` }
    ]
    for (const request of requests) {
      const response = await app.inject(request)
      const label = `${name}: ${request.method ?? 'GET'} ${String(request.url)}`
      t.equal(response.statusCode, 400, label)
      t.equal(response.json().code, 'validation_failed', label)
      t.ok((response.json().errors as Array<{ field: string }> | undefined ?? []).some((error) => error.field === 'params.id'), `${label} names params.id`)
    }
  }
  t.same(await rowCounts(db), before, 'nothing was written')
  const row = await db.selectFrom('stories').select(['title', 'updated_at', 'deleted_at']).where('id', '=', id).executeTakeFirstOrThrow()
  t.match(row, { title: 'Canonical', deleted_at: null }, 'nothing was changed')
  t.equal(row.updated_at.toISOString(), story.updated_at)
})

t.test('8 honest reads sent with 1 urn:uuid: read: 8 × 200, and a 400 validation_failed for the bad id', async (t) => {
  const app = await build(t, await databaseEnv(t, 'story_poison'))
  const stories = await Promise.all(Array.from({ length: 8 }, (_, n) => createStory(app, `user_2abcPoison${n % 2}`, { title: `Honest ${n}`, publish: true })))
  const poisonedPath = '/v1/stories/urn:uuid:00000000-0000-0000-0000-000000000000'
  const expected = stories.map((story) => [200, story.title])

  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const [poisoned, ...honest] = await Promise.all([send(port, { path: poisonedPath }), ...stories.map((story) => send(port, { path: `/v1/stories/${story.id}` }))])
  t.same(honest.map((response) => [response.status, response.json().title]), expected, 'over real sockets, every honest read is answered')
  t.equal(poisoned?.status, 400)
  t.equal(poisoned?.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(poisoned?.json().code, 'validation_failed')

  // In process, all nine requests reach the story loader in the same event-loop turn: one batch.
  const [batchedPoison, ...batchedHonest] = await Promise.all([app.inject(poisonedPath), ...stories.map((story) => app.inject(`/v1/stories/${story.id}`))])
  t.same(batchedHonest.map((response) => [response.statusCode, response.json().title]), expected, 'in one batch, every honest read is answered')
  t.equal(batchedPoison?.statusCode, 400)
  t.equal(batchedPoison?.json().code, 'validation_failed')
})
