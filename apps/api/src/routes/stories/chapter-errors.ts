import { clientError } from '../../http-errors.js'
import { CHAPTERS_PER_STORY_MAX } from './schemas.js'

export const chapterNotFound = () => clientError(404, 'chapter_not_found', 'The story has no chapter at this position.')

export const chapterLimitReached = () => clientError(409, 'chapter_limit_reached', `A story holds at most ${CHAPTERS_PER_STORY_MAX.toLocaleString('en')} chapters.`)
