import createFetchClient, { type Client, type ClientOptions } from 'openapi-fetch'
import type { components, operations, paths } from './openapi.js'

export type { components, operations, paths }

/** The client: `GET`, `POST`, `PATCH`, `DELETE`… by path, typed from the API's OpenAPI document. */
export type MuejamClient = Client<paths>

/** An RFC 9457 problem, `application/problem+json`: the `error` of every failed call. Match on `code`. */
export type Problem = components['schemas']['Problem']

type JsonOf<Answer> = Answer extends { content: { 'application/json': infer Body } } ? Body : never

export type Story = JsonOf<operations['getStory']['responses'][200]>
export type StoryWithChapters = JsonOf<operations['createStory']['responses'][201]>
export type StoryPage = JsonOf<operations['listStories']['responses'][200]>
export type Chapter = JsonOf<operations['getChapter']['responses'][200]>
export type ChapterPage = JsonOf<operations['listChapters']['responses'][200]>
export type Profile = JsonOf<operations['getMe']['responses'][200]>

export interface MuejamClientOptions extends ClientOptions {
  /** The API's origin, e.g. `https://api.muejam.org`. */
  baseUrl: string
  /**
   * The session token sent as `Authorization: Bearer`, or a function read before each request
   * (a token that refreshes). Undefined, or a function that returns undefined: anonymous.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>)
}

/** A client of the muejam API at `baseUrl`, signed in with `token` when one is given. */
export function createClient ({ token, ...options }: MuejamClientOptions): MuejamClient {
  const client = createFetchClient<paths>(options)
  if (token !== undefined) {
    client.use({
      async onRequest ({ request }) {
        const value = typeof token === 'function' ? await token() : token
        if (value !== undefined && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${value}`)
        return request
      }
    })
  }
  return client
}
