import { SpanStatusCode, context, createTraceState, trace, type Span, type Tracer } from '@opentelemetry/api'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { beforeAll, describe, expect, it } from 'vitest'
import { job, memoryStore, type QueueEvent } from '../../src/index.js'
import { tracing } from '../../src/otel/index.js'
import { createTestQueue, manualConnectivity, type TestQueue } from '../../src/testing/index.js'
import { memoryTracing, useAsyncContext } from './sdk.js'

beforeAll(() => useAsyncContext())

/** A tracer whose spans (of attempts only, unless `all`) have `method` throw, each call counted. */
function throwingSpans(base: Tracer, method: keyof Span, calls: { n: number }, all = false): Tracer {
  return {
    startSpan(name, o, c) {
      const s = base.startSpan(name, o, c)
      if (!all && !name.startsWith('ferry.job')) return s
      return new Proxy(s, {
        get(t, k) {
          if (k === method) {
            return () => {
              calls.n++
              throw new Error(`${String(method)} boom`)
            }
          }
          const v: unknown = Reflect.get(t, k)
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v
        },
      })
    },
    startActiveSpan: base.startActiveSpan.bind(base),
  }
}

function kinds(q: TestQueue): string[] {
  const seen: string[] = []
  q.events.subscribe((e: QueueEvent) => seen.push(e.kind))
  return seen
}

/** A queue whose one job of type `w` succeeds; how many times its handler ran, and its final state. */
async function runOnce(tracer: Tracer): Promise<{ runs: number; state: string | undefined; errors: number }> {
  const q = createTestQueue({ instrumentation: [tracing({ tracer })] })
  let errors = 0
  q.events.subscribe((e) => {
    if (e.kind === 'queue:error') errors++
  })
  let runs = 0
  q.register('w', async () => {
    runs++
    return 'ok'
  })
  const { id } = await q.dispatch(job('w', {}).retry(2).backoff(10))
  await q.runUntilIdle()
  await q.advance(10)
  await q.advance(10)
  const state = (await q.getJob(id))?.state
  await q.close()
  return { runs, state, errors }
}

describe('tracing never changes what a job does', () => {
  it('survives a span method that throws when a timeout aborts a handler that never returns, and ends the span', async () => {
    const sdk = memoryTracing()
    const calls = { n: 0 }
    const q = createTestQueue({ instrumentation: [tracing({ tracer: throwingSpans(sdk.tracer, 'setAttribute', calls) })] })
    const seen = kinds(q)
    q.register('hang', (_p, ctx) => {
      void ctx.signal // the engine makes the signal's controller: its abort runs the listeners
      return new Promise(() => {})
    })
    const { id } = await q.dispatch(job('hang', {}).timeout(1000).retry(0))
    await q.runUntilIdle()
    await q.advance(1000)
    await q.runUntilIdle()
    expect(calls.n).toBeGreaterThan(0)
    expect(seen).toContain('job:failed')
    expect(await q.getJob(id)).toMatchObject({ state: 'failed' })
    expect(sdk.named('ferry.job hang').length).toBe(1)
    await q.close({ timeoutMs: 10 })
  })

  it('runs the job once and succeeds when the tracer cannot start a span', async () => {
    const tracer: Tracer = {
      startSpan() {
        throw new Error('tracer down')
      },
      startActiveSpan() {
        throw new Error('tracer down')
      },
    }
    expect(await runOnce(tracer)).toEqual({ runs: 1, state: 'succeeded', errors: 0 })
  })

  it('runs the job once and succeeds when span.end or setAttribute throws', async () => {
    const sdk = memoryTracing()
    const ends = { n: 0 }
    expect(await runOnce(throwingSpans(sdk.tracer, 'end', ends, true))).toEqual({ runs: 1, state: 'succeeded', errors: 0 })
    expect(ends.n).toBeGreaterThan(0)
    const sets = { n: 0 }
    expect(await runOnce(throwingSpans(sdk.tracer, 'setAttribute', sets, true))).toEqual({ runs: 1, state: 'succeeded', errors: 0 })
    expect(sets.n).toBeGreaterThan(0)
  })

  it("runs the job once and succeeds when the SDK's span processor throws at a span's start or end", async () => {
    const noop: SpanProcessor = { forceFlush: async () => {}, shutdown: async () => {}, onStart() {}, onEnd() {} }
    const throwing = [
      {
        ...noop,
        onEnd(s: ReadableSpan) {
          if (s.name.startsWith('ferry.job')) throw new Error('onEnd boom')
        },
      },
      {
        ...noop,
        onStart() {
          throw new Error('onStart boom')
        },
      },
    ]
    for (const p of throwing) {
      const tracer = new BasicTracerProvider({ spanProcessors: [p] }).getTracer('t')
      expect(await runOnce(tracer)).toEqual({ runs: 1, state: 'succeeded', errors: 0 })
    }
  })
})

describe('tracing ends each attempt span with the outcome the engine decided', () => {
  it('never starts the span or the handler of an attempt that timed out while the engine prepared it, and leaves no span open', async () => {
    const exporter = new InMemorySpanExporter()
    const started: string[] = []
    const tracer = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter), { forceFlush: async () => {}, shutdown: async () => {}, onStart: (s) => void started.push(s.name), onEnd() {} }],
    }).getTracer('t')
    const inner = memoryStore()
    let release: () => void = () => {}
    const slow = new Promise<void>((r) => (release = r))
    const store = new Proxy(inner, {
      get(t, k) {
        const v: unknown = Reflect.get(t, k)
        if (k === 'getBatch') {
          return async (...a: unknown[]) => {
            await slow
            return (v as (...x: unknown[]) => unknown).apply(t, a)
          }
        }
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v
      },
    })
    const q = createTestQueue({ store, instrumentation: [tracing({ tracer })] })
    let cbRuns = 0
    q.register('w', async () => 'ok')
    q.register('cb', () => {
      cbRuns++
      return new Promise(() => {})
    })
    await q.batch(job('w', {})).onSuccess(job('cb', {}).timeout(100).retry(0)).dispatch()
    await q.runUntilIdle()
    await q.advance(100)
    await q.runUntilIdle()
    release()
    await q.runUntilIdle()
    expect(cbRuns).toBe(0)
    const cb = (await q.listJobs({ type: 'cb' }))[0]
    expect(cb).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError' } })
    const opened = started.filter((n) => n === 'ferry.job cb').length
    expect(exporter.getFinishedSpans().filter((s) => s.name === 'ferry.job cb').length).toBe(opened)
    await q.close({ timeoutMs: 10 })
  })

  it('traces an attempt that failed offline and was put back as deferred, not as an error', async () => {
    const sdk = memoryTracing()
    const net = manualConnectivity(false)
    const q = createTestQueue({ connectivity: net, instrumentation: [tracing({ tracer: sdk.tracer })] })
    let calls = 0
    q.register(
      'sync',
      async () => {
        if (++calls === 1) throw new TypeError('Failed to fetch')
        return 'done'
      },
      { network: 'offlineFirst' },
    )
    const { id } = await q.dispatch(job('sync', {}).retry(0))
    await q.runUntilIdle()
    expect(await q.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    net.set(true)
    await q.runUntilIdle()
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded' })
    const spans = sdk.named('ferry.job sync')
    expect(spans.map((s) => s.attributes['ferry.job.outcome'])).toEqual(['deferred', 'succeeded'])
    expect(spans[0]?.status.code).toBe(SpanStatusCode.UNSET)
    expect(spans[0]?.events).toEqual([])
    await q.close()
  })

  it('ends a span when its job is cancelled only once the engine ends the attempt, as cancelled', async () => {
    const sdk = memoryTracing()
    const q = createTestQueue({ instrumentation: [tracing({ tracer: sdk.tracer })] })
    let finish: () => void = () => {}
    q.register('slow', () => new Promise<void>((r) => (finish = r)))
    const { id } = await q.dispatch(job('slow', {}))
    await q.runUntilIdle()
    await q.cancel(id)
    await q.runUntilIdle()
    finish()
    await q.runUntilIdle()
    expect(await q.getJob(id)).toMatchObject({ state: 'cancelled' })
    expect(sdk.named('ferry.job slow').map((s) => [s.attributes['ferry.job.outcome'], s.status.code])).toEqual([['cancelled', SpanStatusCode.UNSET]])
    await q.close()
  })

  it('records the error the engine stored on a failed attempt', async () => {
    const sdk = memoryTracing()
    const q = createTestQueue({ instrumentation: [tracing({ tracer: sdk.tracer })] })
    q.register('bad', async () => {
      throw new RangeError('out of range')
    })
    await q.dispatch(job('bad', {}).retry(0))
    await q.runUntilIdle()
    const [span] = sdk.named('ferry.job bad')
    expect(span?.attributes['ferry.job.outcome']).toBe('failed')
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'out of range' })
    expect(span?.events.map((e) => [e.name, e.attributes?.['exception.type'], e.attributes?.['exception.message']])).toEqual([['exception', 'RangeError', 'out of range']])
    await q.close()
  })
})

describe('tracing at dispatch', () => {
  it("stores no tracestate of the active span next to a traceparent the spec set itself", async () => {
    const sdk = memoryTracing()
    const q = createTestQueue({ instrumentation: [tracing({ tracer: sdk.tracer })] })
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const parent = sdk.tracer.startSpan('request')
    const withState = { ...parent.spanContext(), traceState: createTraceState('vendor=abc') }
    const ids = await context.with(trace.setSpanContext(context.active(), withState), async () => [
      (await q.dispatch(job('w', {}).meta({ traceparent: own }))).id,
      (await q.dispatch(job('w', {}))).id,
    ])
    parent.end()
    expect((await q.getJob(ids[0] as string))?.meta).toEqual({ traceparent: own })
    expect((await q.getJob(ids[1] as string))?.meta).toMatchObject({ tracestate: 'vendor=abc' })
    await q.close()
  })
})
