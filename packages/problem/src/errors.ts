import { createOptionError } from './option-error.js'

/** A bad option of this package: the renderer's, or a `createProblemError` spec. */
export const InvalidOptionError = createOptionError('@muejam/problem')
