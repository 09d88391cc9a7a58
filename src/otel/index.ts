/**
 * `ferry/otel`: OpenTelemetry tracing and metrics for a queue. Needs `@opentelemetry/api` (an
 * optional peer dependency) and an SDK the application registers; without one, spans and
 * metrics cost next to nothing and go nowhere.
 *
 * @example
 * import { tracing, metrics } from 'ferry/otel'
 * const queue = createQueue({ store, instrumentation: [tracing()] })
 * const stop = metrics(queue)
 *
 * @module ferry/otel
 */
export { tracing } from './tracing.js'
export type { AttemptSpanOutcome, TracingOptions } from './tracing.js'
export { metrics } from './metrics.js'
export type { MetricsOptions } from './metrics.js'
