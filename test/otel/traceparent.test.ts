import { TraceFlags, createTraceState } from '@opentelemetry/api'
import { describe, expect, it } from 'vitest'
import { formatTraceparent, parseTraceparent } from '../../src/otel/traceparent.js'

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const SPAN = 'b7ad6b7169203331'

describe('traceparent', () => {
  it('writes a span context as a version 00 traceparent', () => {
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED })).toBe(`00-${TRACE}-${SPAN}-01`)
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.NONE })).toBe(`00-${TRACE}-${SPAN}-00`)
  })

  it('reads back a remote span context with its tracestate', () => {
    const sc = parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'a=1,b=2')
    expect(sc).toMatchObject({ traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: true })
    expect(sc?.traceState?.get('b')).toBe('2')
    expect(sc?.traceState?.serialize()).toBe(createTraceState('a=1,b=2').serialize())
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.traceState).toBeUndefined()
  })

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['another version', `01-${TRACE}-${SPAN}-01`],
    ['upper case', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['a short span id', `00-${TRACE}-${SPAN.slice(1)}-01`],
    ['trailing data', `00-${TRACE}-${SPAN}-01-extra`],
  ])('ignores a traceparent that is %s', (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined()
  })
})
