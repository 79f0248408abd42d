/** An error the problem handler renders as-is: status, snake_case code, safe message. */
export interface ClientErrorOptions {
  headers?: Record<string, string>
  extensions?: Record<string, unknown>
}

export function clientError (statusCode: number, code: string, message: string, options: ClientErrorOptions = {}): Error {
  return Object.assign(new Error(message), { statusCode, code, ...options })
}

export const storyNotFound = () => clientError(404, 'story_not_found', 'There is no such story.')

export const notYourStory = () => clientError(403, 'forbidden', 'Only the author may change this story.')
