import { option } from './options.js'

export interface ServerTimeoutsOptions {
  /** The per-request deadline (`REQUEST_TIMEOUT_MS`), in milliseconds. Default 30000. */
  requestTimeoutMs?: number
  /** Longest time for a client to send its request headers, in milliseconds. Default 10000. */
  headersTimeoutMs?: number
  /** How long an idle keep-alive connection stays open, in milliseconds. Default 72000. */
  keepAliveTimeoutMs?: number
}

/** The Fastify server options for socket limits, to spread into `Fastify({ ... })`. */
export interface ServerTimeouts {
  connectionTimeout: number
  keepAliveTimeout: number
  requestTimeout: number
  http: {
    headersTimeout: number
    connectionsCheckingInterval: number
  }
}

/** Grace beyond the deadline before a silent socket is dropped: time for the 504 to be written. */
const SOCKET_GRACE_MS = 10_000
/** How often Node checks open connections against headersTimeout and requestTimeout. */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1000
/** setTimeout's ceiling; larger values fire at once. */
const MAX_TIMER_MS = 2_147_483_647 - SOCKET_GRACE_MS

/**
 * Socket limits that keep slow or silent clients from holding connections. The
 * README gives the reason for each number.
 */
export function serverTimeouts (options: ServerTimeoutsOptions = {}): ServerTimeouts {
  const limits = { min: 1000, max: MAX_TIMER_MS }
  const requestTimeoutMs = option.milliseconds('requestTimeoutMs', options.requestTimeoutMs, { ...limits, default: 30_000 })
  const headersTimeoutMs = option.milliseconds('headersTimeoutMs', options.headersTimeoutMs, { ...limits, default: 10_000 })
  const keepAliveTimeoutMs = option.milliseconds('keepAliveTimeoutMs', options.keepAliveTimeoutMs, { ...limits, default: 72_000 })
  return {
    connectionTimeout: requestTimeoutMs + SOCKET_GRACE_MS,
    keepAliveTimeout: keepAliveTimeoutMs,
    requestTimeout: requestTimeoutMs,
    http: {
      // Node requires headersTimeout <= requestTimeout.
      headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS
    }
  }
}
