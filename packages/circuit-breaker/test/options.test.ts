import t from 'tap'
import { CircuitBreaker, InvalidOptionError } from '../src/index.js'

const MS = 'must be an integer number of milliseconds from 1 to 2147483647'
const invalid: Array<[string, unknown, string]> = [
  ['options', 'five', 'must be an object'],
  ['failureThreshold', 0, 'must be an integer from 1 to 1000'],
  ['failureThreshold', 1.5, 'must be an integer from 1 to 1000'],
  ['failureThreshold', 1001, 'must be an integer from 1 to 1000'],
  ['coolOffMs', 0, MS],
  ['coolOffMs', '5000', MS],
  ['now', 123, 'must be a function'],
  ['name', 7, 'must be a string']
]

for (const [option, value, reason] of invalid) {
  t.test(`${option}: ${JSON.stringify(value)} is refused with MUEJAM_CIRCUIT_BREAKER_INVALID_OPTION`, async (t) => {
    const options = option === 'options' ? value : { [option]: value }
    const error = (() => {
      try {
        return new CircuitBreaker(options as never)
      } catch (error) {
        return error
      }
    })()
    t.ok(error instanceof InvalidOptionError)
    t.ok(error instanceof TypeError)
    t.match(error, { code: 'MUEJAM_CIRCUIT_BREAKER_INVALID_OPTION' })
    t.equal((error as Error).message, `Invalid @muejam/circuit-breaker option "${option}": ${reason}`)
  })
}
