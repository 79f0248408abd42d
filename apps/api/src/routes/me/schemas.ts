import { Type, type Static } from 'typebox'
import { Timestamp, Uuid } from '../schemas.js'

export const Profile = Type.Object({
  id: Uuid,
  user_id: Type.String({ description: 'The identity provider\'s user id (Clerk `sub`).' }),
  handle: Type.String(),
  display_name: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp
}, { additionalProperties: false })

export type ProfileBody = Static<typeof Profile>
