import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
// Loaded through require so that @fastify/rate-limit's own `declare module 'fastify'`
// (which types `config.rateLimit` and `app.rateLimit` its way) never enters the program.
const { normalizeIP } = require('@fastify/rate-limit') as { normalizeIP: (ip: string, ipv6Subnet?: number) => string }

/**
 * The address that identifies an anonymous client: IPv4 as is, IPv4-mapped IPv6 as IPv4,
 * other IPv6 reduced to its `/ipv6Subnet` network (a single host usually owns a whole /64,
 * so counting per address would let it rotate through 2^64 keys).
 */
export function clientAddress (ip: string | undefined, ipv6Subnet: number): string {
  if (ip === undefined || ip === '') return 'unknown'
  if (!ip.includes(':')) return ip
  return normalizeIP(ip, ipv6Subnet)
}

/** The verified user's id from `request.auth` (set by an auth plugin), or undefined for anonymous requests. */
export function userIdOf (auth: unknown): string | undefined {
  if (auth === null || typeof auth !== 'object') return undefined
  const userId = (auth as { userId?: unknown }).userId
  return typeof userId === 'string' && userId !== '' ? userId : undefined
}
