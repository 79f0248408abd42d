// The same key as @muejam/rate-limit's, so that a client is counted alike by both.
export { clientNetwork } from '@muejam/problem'
