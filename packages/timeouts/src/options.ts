import { createOptionValidators } from '@muejam/problem'
import { InvalidOptionError } from './errors.js'

/** The shared option validators, throwing this package's `InvalidOptionError`. */
export const option = createOptionValidators(InvalidOptionError)
