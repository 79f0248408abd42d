import { CircuitBreaker } from '@muejam/circuit-breaker'
import type { FastifyBaseLogger } from 'fastify'

/**
 * A lookup on another service that stops costing callers its timeout while that service is
 * down: after 5 failures in a row callers get `null` at once for 10 s, then one call probes.
 */
export function createSpellChecker (url: string, log: FastifyBaseLogger) {
  const breaker = new CircuitBreaker({ name: 'spell-check', failureThreshold: 5, coolOffMs: 10_000 })
  breaker.on('stateChange', ({ name, from, to }) => log.warn({ breaker: name, from, to }, 'circuit breaker changed state'))

  return async function misspelledWords (text: string): Promise<string[] | null> {
    try {
      return await breaker.run(async () => {
        const response = await fetch(url, { method: 'POST', body: text, signal: AbortSignal.timeout(500) })
        if (!response.ok) throw new Error(`spell-check answered ${response.status}`)
        return await response.json() as string[]
      })
    } catch {
      return null // open breaker (BreakerOpenError) or a failed call: the note is saved unchecked
    }
  }
}
