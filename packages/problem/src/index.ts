import fp from 'fastify-plugin'
import { problemPlugin } from './plugin.js'
export { InvalidOptionError } from './errors.js'
export { clientAddress, clientNetwork } from './client-network.js'
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
export { createMissingPeerError, isModuleNotFound, type MissingPeerErrorConstructor } from './missing-peer.js'
export type { MissingPeerError as MissingPeerErrorInstance } from './missing-peer.js'
export { DEFAULT_TYPE_BASE, renderProblem, sendProblem, toProblem, type MapError, type ProblemBody, type RenderOptions } from './problem-body.js'
export { problemPlugin, type ProblemOptions } from './plugin.js'

export default fp(problemPlugin, { name: '@muejam/problem', fastify: '>=5.12.0 <6' })
