import t from 'tap'
import { otlpProtocol, tracesExporters, tracingRequested } from '../src/index.js'

t.test('tracing is requested by an OTLP endpoint or an exporter, and never when disabled or exporting to none', async (t) => {
  t.equal(tracingRequested({}), false, 'nothing set')
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), false, 'an empty endpoint')
  t.equal(tracingRequested({ OTEL_SERVICE_NAME: 'api', OTEL_TRACES_SAMPLER: 'always_on' }), false, 'other OTEL_* variables alone')
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true)
  t.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true)
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' }), true)
  t.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'None', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), false, 'none wins over an endpoint')
  t.equal(tracingRequested({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), false, 'OTEL_SDK_DISABLED wins')
  t.equal(tracingRequested({ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true)
})

t.test('OTEL_TRACES_EXPORTER: otlp by default, a comma list of otlp and console, anything else refused', async (t) => {
  t.same(tracesExporters({}), ['otlp'])
  t.same(tracesExporters({ OTEL_TRACES_EXPORTER: ' OTLP , console,otlp ' }), ['otlp', 'console'])
  for (const value of ['zipkin', 'otlp,jaeger', ',']) {
    t.throws(() => tracesExporters({ OTEL_TRACES_EXPORTER: value }), {
      code: 'MUEJAM_TRACING_INVALID_OPTION',
      message: /"OTEL_TRACES_EXPORTER": must be a comma list of otlp, console/
    }, value)
  }
})

t.test('the OTLP protocol: http/protobuf by default, http/json on request, the traces variable first, gRPC refused', async (t) => {
  t.equal(otlpProtocol({}), 'http/protobuf')
  t.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }), 'http/json')
  t.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }), 'http/json')
  t.throws(() => otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), {
    code: 'MUEJAM_TRACING_INVALID_OPTION',
    message: /"OTEL_EXPORTER_OTLP_PROTOCOL": must be http\/protobuf or http\/json; "grpc" is not supported/
  })
  t.throws(() => otlpProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http' }), { message: /"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"/ })
})
