// `node --import @muejam/tracing/register app.js`: tracing starts before the app's first
// import when the environment asks for it, and nothing of OpenTelemetry is loaded when not.
import { startTracingIfRequested } from './start.js'

await startTracingIfRequested()
