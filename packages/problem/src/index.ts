export { InvalidOptionError } from './errors.js'
export { createOptionError, type InvalidOptionErrorConstructor } from './option-error.js'
export type { InvalidOptionError as InvalidOptionErrorInstance } from './option-error.js'
export {
  createOptionValidators,
  MAX_TIMER_MS,
  type IntegerRange,
  type OptionErrorClass,
  type OptionValidators,
  type Optional,
  type Required,
  type StringRules,
  type WithDefault
} from './option-validators.js'
export {
  createProblemError,
  isProblemCode,
  isProblemError,
  type ProblemError,
  type ProblemErrorConstructor,
  type ProblemErrorInstance,
  type ProblemErrorOptions,
  type ProblemErrorSpec
} from './problem-error.js'
