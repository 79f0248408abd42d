import { InvalidOptionError } from './errors.js'

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

function whole (name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw new InvalidOptionError(name, `must be an integer from ${min} to ${MAX_TIMER_MS}`)
  }
  return value
}

/**
 * Socket limits that keep slow or silent clients from holding connections. The
 * README gives the reason for each number.
 */
export function serverTimeouts (options: ServerTimeoutsOptions = {}): ServerTimeouts {
  const requestTimeoutMs = whole('requestTimeoutMs', options.requestTimeoutMs ?? 30_000, 1000)
  const headersTimeoutMs = whole('headersTimeoutMs', options.headersTimeoutMs ?? 10_000, 1000)
  const keepAliveTimeoutMs = whole('keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? 72_000, 1000)
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
