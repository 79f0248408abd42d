import { createOptionError } from '@muejam/problem'

/**
 * An option of `startTracing`, or an `OTEL_*` variable it reads, has a value the SDK would
 * ignore or misread; raised when tracing starts, so a typo does not silently turn tracing off.
 */
export const InvalidOptionError = createOptionError('@muejam/tracing')
