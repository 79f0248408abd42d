export const GENERATE_SECRET_HINT =
  'generate one with: node -e "console.log(require(\'node:crypto\').randomBytes(48).toString(\'base64url\'))"'

const EXAMPLE_MARKERS = ['insecure', 'changethis', 'changeme', 'yoursecret', 'example', 'testkey', 'secretkey', 'password']

/** True for values copied from documentation or templates rather than generated. */
export function isExampleSecret (value: string): boolean {
  const normalised = value.toLowerCase().replace(/[-_\s]/g, '')
  if (EXAMPLE_MARKERS.some((marker) => normalised.includes(marker))) return true
  return value.length > 0 && [...value].every((char) => char === value[0])
}

/** Returns what is wrong with a secret, or undefined when it is acceptable. */
export function checkSecret (value: string, minLength: number): string | undefined {
  if (value.length < minLength) return `is ${value.length} characters long; at least ${minLength} are required`
  if (isExampleSecret(value)) return 'looks like an example or placeholder value'
  return undefined
}
