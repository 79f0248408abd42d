import { setFlagsFromString } from 'node:v8'

/** V8's flag that keeps WebAssembly on its baseline compiler (Liftoff), never tiering up to TurboFan. */
export const BASELINE_WASM_FLAG = '--liftoff-only'

/**
 * From here on, this process compiles WebAssembly with V8's baseline compiler only. PGlite's
 * PostgreSQL is 9 MB of WebAssembly: optimizing its hot functions costs about 70 MB of
 * resident memory and, on two cores, doubles the time initdb takes, for little gain on a
 * development database. The flag is read when a module is compiled, so it is set before
 * PGlite compiles its own; it is process-wide.
 */
export function compileWasmWithBaselineOnly (): void {
  setFlagsFromString(BASELINE_WASM_FLAG)
}
