import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { UserProfile } from '../../db/tables/user-profiles.table.js'
import type { AuthContext } from '@muejam/auth'
import { pageOf } from '../page.js'
import { bearer, problems } from '../schemas.js'
import { decodeMyStoriesCursor, encodeMyStoriesCursor } from '../stories/cursor.js'
import { toStory } from '../stories/representation.js'
import { listByAuthor } from '../stories/repository.js'
import { ListQuery, StoryPage } from '../stories/schemas.js'
import { ensureProfile, findProfile } from './repository.js'
import { Profile } from './schemas.js'

function toProfile (profile: UserProfile) {
  return {
    id: profile.id,
    user_id: profile.clerk_user_id,
    handle: profile.handle,
    display_name: profile.display_name,
    created_at: profile.created_at.toISOString(),
    updated_at: profile.updated_at.toISOString()
  }
}

/** `GET /v1/me`, the caller's profile, created on the first call; `GET /v1/me/stories`, the caller's stories. */
const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/me', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getMe',
      tags: ['me'],
      summary: 'The caller\'s profile (created on the first call)',
      security: bearer,
      response: { 200: Profile, ...problems(401, 503) }
    }
  }, async (request) => {
    const auth = request.auth as AuthContext
    const existing = await findProfile(request.dbRead, auth.userId)
    if (existing !== undefined) return toProfile(existing)
    const { profile, created } = await ensureProfile(request.db, auth)
    if (created) request.server.audit({ event: 'user.first_sign_in', actor: auth.userId, target: profile.id, outcome: 'success' }, request)
    return toProfile(profile)
  })

  app.get('/me/stories', {
    config: { auth: 'required' },
    schema: {
      operationId: 'listMyStories',
      tags: ['me'],
      summary: 'The caller\'s stories, drafts included, newest created first',
      security: bearer,
      querystring: ListQuery,
      response: { 200: StoryPage, ...problems(400, 401, 503) }
    }
  }, async (request) => {
    const { limit = 20, cursor } = request.query
    const { userId } = request.auth as AuthContext
    const key = app.config.SECRET_KEY
    const after = cursor === undefined ? undefined : decodeMyStoriesCursor(key, userId, cursor)
    const rows = await listByAuthor(request.dbRead, userId, limit, after)
    return pageOf(rows, limit, toStory, (last) => encodeMyStoriesCursor(key, userId, { createdAt: last.created_at, id: last.id }))
  })
}

export default meRoutes
