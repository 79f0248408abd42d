import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { UserProfile } from '../../db/tables/user-profiles.table.js'
import type { AuthContext } from '@muejam/auth'
import { bearer, problems } from '../schemas.js'
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

/** `GET /v1/me`: the caller's profile, created on the first call. */
const meRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/me', {
    config: { auth: 'required' },
    schema: {
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
}

export default meRoutes
