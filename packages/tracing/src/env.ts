import { InvalidOptionError } from './errors.js'

/** Where the `OTEL_*` variables are read from: `process.env` or a copy of it. */
export type TracingEnv = Readonly<Record<string, string | undefined>>

/** Span exporters `OTEL_TRACES_EXPORTER` may name here. */
export type TracesExporterName = 'otlp' | 'console'

/** OTLP over HTTP, as protobuf (the OpenTelemetry default) or JSON. */
export type OtlpProtocol = 'http/protobuf' | 'http/json'

const EXPORTERS: readonly string[] = ['otlp', 'console']
const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json']

function value (env: TracingEnv, name: string): string | undefined {
  const raw = env[name]?.trim()
  return raw === undefined || raw === '' ? undefined : raw
}

/**
 * Whether the environment asks for tracing: an OTLP endpoint is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or
 * `OTEL_TRACES_EXPORTER` names an exporter; never when `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`. Reads the environment only: nothing is loaded.
 */
export function tracingRequested (env: TracingEnv = process.env): boolean {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return false
  const exporters = value(env, 'OTEL_TRACES_EXPORTER')
  if (exporters !== undefined) return exporters.toLowerCase() !== 'none'
  return value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined || value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined
}

/** The exporters `OTEL_TRACES_EXPORTER` names (a comma list), `otlp` when unset. */
export function tracesExporters (env: TracingEnv = process.env): TracesExporterName[] {
  const names = (value(env, 'OTEL_TRACES_EXPORTER') ?? 'otlp').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
  const unknown = names.find((name) => !EXPORTERS.includes(name))
  if (unknown !== undefined || names.length === 0) {
    throw new InvalidOptionError('OTEL_TRACES_EXPORTER', `must be a comma list of ${EXPORTERS.join(', ')} (or none); "${unknown ?? ''}" is not supported`)
  }
  return [...new Set(names)] as TracesExporterName[]
}

/** The OTLP protocol: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
export function otlpProtocol (env: TracingEnv = process.env): OtlpProtocol {
  const variable = value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL'
  const protocol = value(env, variable) ?? 'http/protobuf'
  if (!PROTOCOLS.includes(protocol)) {
    throw new InvalidOptionError(variable, `must be ${PROTOCOLS.join(' or ')}; "${protocol}" is not supported (no gRPC exporter is installed)`)
  }
  return protocol as OtlpProtocol
}
