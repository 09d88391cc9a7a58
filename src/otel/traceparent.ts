/**
 * The W3C Trace Context headers a job keeps in its metadata (`traceparent`, `tracestate`),
 * written and read here by hand: `@opentelemetry/core`'s propagator is an SDK package, and
 * `ferry/otel` needs only `@opentelemetry/api`.
 *
 * @see https://www.w3.org/TR/trace-context/#traceparent-header
 * @module
 */
import { createTraceState, isSpanContextValid, type SpanContext } from '@opentelemetry/api'

/** Version 00 only: a job's traceparent was written by this module, so anything else is damaged. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** The `traceparent` of a span context: `00-<trace id>-<span id>-<flags>`. */
export function formatTraceparent(sc: SpanContext): string {
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0')
  return `00-${sc.traceId}-${sc.spanId}-${flags}`
}

/**
 * The remote span context a stored `traceparent` (and `tracestate`) names, or `undefined` when
 * the traceparent is missing or malformed (an all-zero id included). A tracestate that cannot
 * be read is dropped, the traceparent kept.
 */
export function parseTraceparent(traceparent: unknown, tracestate?: unknown): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined
  const m = TRACEPARENT.exec(traceparent)
  if (!m) return undefined
  const sc: SpanContext = {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: parseInt(m[3] as string, 16),
    isRemote: true,
  }
  if (!isSpanContextValid(sc)) return undefined
  if (typeof tracestate === 'string' && tracestate !== '') {
    try {
      sc.traceState = createTraceState(tracestate)
    } catch {
      // An unreadable tracestate only loses vendor data; the parent is still known.
    }
  }
  return sc
}
