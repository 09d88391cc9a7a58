import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { InvalidArgumentError, JobDeferredError, JobSkippedError, UnrecoverableError, job, type Middleware } from '../../src/index.js'
import { tracing, type TracingOptions } from '../../src/otel/index.js'
import { createTestQueue, type TestQueue } from '../../src/testing/index.js'
import { memoryTracing, parentOf, useAsyncContext } from './sdk.js'

beforeAll(() => useAsyncContext())

let sdk = memoryTracing()
afterEach(() => {
  sdk = memoryTracing()
})

/** A test queue traced by `tracing()`, whose parent-or-link rule keeps the queue's manual clock. */
function tracedQueue(o: Omit<TracingOptions, 'clock'> & { middleware?: Middleware[] } = {}): TestQueue {
  const { middleware, ...rest } = o
  const made: { q?: TestQueue } = {}
  const traced = tracing({ tracer: sdk.tracer, ...rest, clock: { now: () => (made.q as TestQueue).clock.now() } })
  const q = (made.q = createTestQueue({ instrumentation: [traced], queues: ['default', 'mail', 'other'], ...(middleware ? { middleware } : {}) }))
  return q
}

/** Runs `fn` inside an active span of the test's tracer; returns what it returned and the span's context. */
async function inSpan<T>(tracer: Tracer, fn: () => Promise<T>): Promise<{ value: T; traceId: string; spanId: string }> {
  return tracer.startActiveSpan('request', async (span) => {
    try {
      const value = await fn()
      return { value, ...span.spanContext() }
    } finally {
      span.end()
    }
  })
}

describe('tracing: attempt spans', () => {
  it('makes a CONSUMER span per attempt named after the job type, with the job and messaging attributes', async () => {
    const q = tracedQueue()
    q.register('email', async () => 'sent')
    const { id } = await q.dispatch(job('email', { to: 'a' }).onQueue('mail').retry(2))
    await q.runUntilIdle()
    const [span, ...more] = sdk.named('ferry.job email')
    expect(more).toEqual([])
    expect(span?.kind).toBe(SpanKind.CONSUMER)
    expect(span?.attributes).toMatchObject({
      'ferry.job.id': id,
      'ferry.job.type': 'email',
      'ferry.job.queue': 'mail',
      'ferry.job.attempt': 1,
      'ferry.job.max_attempts': 3,
      'ferry.job.outcome': 'succeeded',
      'messaging.system': 'ferry',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'mail',
      'messaging.message.id': id,
    })
    expect(span?.status.code).toBe(SpanStatusCode.UNSET)
    await q.close()
  })

  it('makes one span per attempt of a retried job and records each failure on its span', async () => {
    const q = tracedQueue()
    let calls = 0
    q.register('flaky', async () => {
      if (++calls < 3) throw new Error(`boom ${calls}`)
    })
    await q.dispatch(job('flaky', {}).retry(2).backoff(1000))
    await q.runUntilIdle()
    await q.advance(1000)
    await q.advance(1000)
    const spans = sdk.named('ferry.job flaky')
    expect(spans.map((s) => [s.attributes['ferry.job.attempt'], s.attributes['ferry.job.outcome']])).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'succeeded'],
    ])
    expect(spans[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom 1' })
    expect(spans[0]?.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', 'boom 1']])
    expect(spans[2]?.events).toEqual([])
    await q.close()
  })

  it('marks the last failed attempt, an unrecoverable error and a thrown undefined as failed', async () => {
    const q = tracedQueue()
    q.register('last', async () => {
      throw new Error('no more')
    })
    q.register('fatal', async () => {
      throw new UnrecoverableError('never')
    })
    q.register('nothing', async () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a handler may throw anything
      throw undefined
    })
    await q.dispatch(job('last', {}).retry(0))
    await q.dispatch(job('fatal', {}).retry(5))
    await q.dispatch(job('nothing', {}).retry(0))
    await q.runUntilIdle()
    for (const name of ['ferry.job last', 'ferry.job fatal', 'ferry.job nothing']) {
      const [span] = sdk.named(name)
      expect(span?.attributes['ferry.job.outcome']).toBe('failed')
      expect(span?.status.code).toBe(SpanStatusCode.ERROR)
      expect(span?.events[0]?.name).toBe('exception')
    }
    await q.close()
  })

  it('marks a deferred and a skipped attempt without recording them as errors', async () => {
    let deferred = false
    const gate: Middleware = async (ctx, next) => {
      if (ctx.type === 'skip') throw new JobSkippedError('not needed')
      if (ctx.type === 'later' && !deferred) {
        deferred = true
        throw new JobDeferredError(500)
      }
      return next()
    }
    const q = tracedQueue({ middleware: [gate] })
    q.register('skip', async () => undefined)
    q.register('later', async () => undefined)
    await q.dispatch(job('skip', {}))
    await q.dispatch(job('later', {}))
    await q.runUntilIdle()
    await q.advance(500)
    expect(sdk.named('ferry.job skip').map((s) => [s.attributes['ferry.job.outcome'], s.status.code, s.events.length])).toEqual([
      ['skipped', SpanStatusCode.UNSET, 0],
    ])
    expect(sdk.named('ferry.job later').map((s) => [s.attributes['ferry.job.outcome'], s.status.code, s.events.length])).toEqual([
      ['deferred', SpanStatusCode.UNSET, 0],
      ['succeeded', SpanStatusCode.UNSET, 0],
    ])
    await q.close()
  })

  it('marks an attempt whose job was cancelled while it ran as cancelled, even if its handler returns', async () => {
    const q = tracedQueue()
    let release!: () => void
    const running = new Promise<void>((resolve) => (release = resolve))
    let started!: () => void
    const begun = new Promise<void>((resolve) => (started = resolve))
    q.register('long', async () => {
      started()
      await running
    })
    const { id } = await q.dispatch(job('long', {}))
    await begun
    expect(await q.cancel(id)).toBe(true)
    release()
    await q.runUntilIdle()
    expect(sdk.named('ferry.job long').map((s) => s.attributes['ferry.job.outcome'])).toEqual(['cancelled'])
    await q.close()
  })

  it('ends the span of an attempt that timed out when it times out, though its handler never returns', async () => {
    const q = tracedQueue()
    q.register('stuck', () => new Promise(() => undefined))
    await q.dispatch(job('stuck', {}).timeout(1000).retry(0))
    await q.runUntilIdle()
    expect(sdk.named('ferry.job stuck')).toEqual([])
    await q.advance(1000)
    const spans = sdk.named('ferry.job stuck')
    expect(spans.map((s) => [s.attributes['ferry.job.outcome'], s.status.code, s.events[0]?.attributes?.['exception.type']])).toEqual([
      ['failed', SpanStatusCode.ERROR, 'JOB_TIMEOUT'], // the SDK takes an error's code for its type
    ])
    await q.close({ timeoutMs: 10 })
  })

  it('marks an attempt that a stop put back as deferred, ending its span at the stop', async () => {
    const q = tracedQueue()
    let started!: () => void
    const begun = new Promise<void>((resolve) => (started = resolve))
    q.register('stuck', () => {
      started()
      return new Promise(() => undefined)
    })
    await q.dispatch(job('stuck', {}))
    await begun
    await q.stop({ timeoutMs: 10 })
    expect(sdk.named('ferry.job stuck').map((s) => [s.attributes['ferry.job.outcome'], s.status.code])).toEqual([['deferred', SpanStatusCode.UNSET]])
    await q.close({ timeoutMs: 10 })
  })

  it("runs the handler with its attempt's span active, so the handler's own spans nest under it", async () => {
    const q = tracedQueue()
    q.register('work', async () => {
      await sdk.tracer.startActiveSpan('inner', async (s) => {
        await Promise.resolve()
        s.end()
      })
    })
    await q.dispatch(job('work', {}))
    await q.runUntilIdle()
    const [attempt] = sdk.named('ferry.job work')
    const [inner] = sdk.named('inner')
    expect(parentOf(inner!)).toBe(attempt?.spanContext().spanId)
    expect(inner?.spanContext().traceId).toBe(attempt?.spanContext().traceId)
    await q.close()
  })
})

describe('tracing: dispatch spans and parents', () => {
  it('makes a PRODUCER ferry.dispatch span under the active span, and each attempt a child of it', async () => {
    const q = tracedQueue()
    q.register('email', async () => undefined)
    const request = await inSpan(sdk.tracer, () => q.dispatch(job('email', {}).onQueue('mail')))
    await q.runUntilIdle()
    const [dispatch] = sdk.named('ferry.dispatch')
    expect(dispatch?.kind).toBe(SpanKind.PRODUCER)
    expect(parentOf(dispatch!)).toBe(request.spanId)
    expect(dispatch?.attributes).toMatchObject({
      'ferry.dispatch.kind': 'job',
      'ferry.dispatch.count': 1,
      'ferry.dispatch.queues': ['mail'],
      'messaging.system': 'ferry',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'mail',
    })
    const stored = await q.getJob(request.value.id)
    expect(stored?.meta).toEqual({ traceparent: `00-${request.traceId}-${dispatch?.spanContext().spanId}-01` })
    const [attempt] = sdk.named('ferry.job email')
    expect(attempt?.spanContext().traceId).toBe(request.traceId)
    expect(parentOf(attempt!)).toBe(dispatch?.spanContext().spanId)
    expect(attempt?.links).toEqual([])
    await q.close()
  })

  it('stores the tracestate beside the traceparent', async () => {
    const q = tracedQueue()
    const parent = trace.setSpanContext(context.active(), {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      traceState: (await import('@opentelemetry/api')).createTraceState('vendor=abc,other=1'),
    })
    const { id } = await context.with(parent, () => q.dispatch(job('t', {})))
    const stored = await q.getJob(id)
    expect(stored?.meta?.['traceparent']).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/)
    expect(stored?.meta?.['tracestate']).toBe('vendor=abc,other=1')
    await q.close()
  })

  it("traces a chain's dispatch once, and every step and callback runs as a child of it", async () => {
    const q = tracedQueue()
    for (const t of ['a', 'b', 'done']) q.register(t, async () => undefined)
    const { value: chainId } = await inSpan(sdk.tracer, () => q.chain(job('a', {}), job('b', {}).onQueue('other')).onSettled(job('done', {})).dispatch())
    await q.runUntilIdle()
    const dispatches = sdk.named('ferry.dispatch')
    expect(dispatches).toHaveLength(1)
    expect(dispatches[0]?.attributes).toMatchObject({
      'ferry.dispatch.kind': 'chain',
      'ferry.dispatch.count': 2,
      'ferry.dispatch.queues': ['default', 'other'],
      'ferry.chain.id': chainId,
      'messaging.batch.message_count': 2,
    })
    expect(dispatches[0]?.attributes['messaging.destination.name']).toBeUndefined()
    const id = dispatches[0]?.spanContext().spanId
    for (const name of ['ferry.job a', 'ferry.job b', 'ferry.job done']) {
      const [s] = sdk.named(name)
      expect(parentOf(s!), name).toBe(id)
      expect(s?.attributes['ferry.chain.id']).toBe(chainId)
    }
    await q.close()
  })

  it("traces a batch's dispatch with its id, and its members and callback run as children of it", async () => {
    const q = tracedQueue()
    for (const t of ['m', 'cb']) q.register(t, async () => undefined)
    const { value: batchId } = await inSpan(sdk.tracer, () => q.batch(job('m', { i: 1 }), job('m', { i: 2 })).onSuccess(job('cb', {})).dispatch())
    await q.runUntilIdle()
    const [dispatch] = sdk.named('ferry.dispatch')
    expect(dispatch?.attributes).toMatchObject({ 'ferry.dispatch.kind': 'batch', 'ferry.dispatch.count': 2, 'ferry.batch.id': batchId })
    const attempts = [...sdk.named('ferry.job m'), ...sdk.named('ferry.job cb')]
    expect(attempts).toHaveLength(3)
    for (const s of attempts) {
      expect(parentOf(s)).toBe(dispatch?.spanContext().spanId)
      expect(s.attributes['ferry.batch.id']).toBe(batchId)
    }
    await q.close()
  })

  it('traces dispatchMany as one span of kind jobs', async () => {
    const q = tracedQueue()
    await q.dispatchMany([job('x', {}), job('y', {}).onQueue('q2')])
    const [dispatch, ...more] = sdk.named('ferry.dispatch')
    expect(more).toEqual([])
    expect(dispatch?.attributes).toMatchObject({ 'ferry.dispatch.kind': 'jobs', 'ferry.dispatch.count': 2, 'ferry.dispatch.queues': ['default', 'q2'] })
    await q.close()
  })

  it('records a rejected dispatch on its span', async () => {
    const traced = tracing({ tracer: sdk.tracer })
    const err = new Error('disk full')
    await expect(traced.aroundDispatch!({ kind: 'job', count: 1, queues: ['default'] }, () => Promise.reject(err))).rejects.toBe(err)
    const [dispatch] = sdk.named('ferry.dispatch')
    expect(dispatch?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'disk full' })
    expect(dispatch?.events.map((e) => e.name)).toEqual(['exception'])
  })

  it('stores nothing when no span is active', () => {
    expect(tracing({ tracer: sdk.tracer }).onDispatch!({ id: 'j', type: 't', queue: 'default' })).toBeUndefined()
  })

  it('starts a new trace linked to the dispatch when the attempt starts later than linkAfterMs after it', async () => {
    const q = tracedQueue({ linkAfterMs: 60_000 })
    q.register('soon', async () => undefined)
    q.register('late', async () => undefined)
    const request = await inSpan(sdk.tracer, async () => {
      await q.dispatch(job('soon', {}).delay(60_000))
      await q.dispatch(job('late', {}).delay(2 * 3600_000))
    })
    await q.advance(2 * 3600_000)
    const [soonDispatch, lateDispatch] = sdk.named('ferry.dispatch')
    const [soon] = sdk.named('ferry.job soon')
    const [late] = sdk.named('ferry.job late')
    expect(parentOf(soon!)).toBe(soonDispatch?.spanContext().spanId)
    expect(soon?.spanContext().traceId).toBe(request.traceId)
    expect(parentOf(late!)).toBeUndefined()
    expect(late?.spanContext().traceId).not.toBe(request.traceId)
    expect(late?.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[request.traceId, lateDispatch?.spanContext().spanId]])
    await q.close()
  })

  it('ignores a stored traceparent that is malformed: the attempt starts a trace of its own, unlinked', async () => {
    const q = tracedQueue()
    q.register('t', async () => undefined)
    // The spec's own meta wins over what instrumentation stores.
    await q.dispatch(job('t', {}).meta({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01' }))
    await q.runUntilIdle()
    const [span] = sdk.named('ferry.job t')
    expect(parentOf(span!)).toBeUndefined()
    expect(span?.links).toEqual([])
  })

  it('does not make an attempt a child of whatever span is active in the engine', async () => {
    const q = tracedQueue()
    q.register('t', async () => undefined)
    await q.dispatch(job('t', {}).meta({ traceparent: 'none' }))
    // The engine runs the job from inside this unrelated span's async context.
    await inSpan(sdk.tracer, () => q.runUntilIdle())
    const [span] = sdk.named('ferry.job t')
    expect(parentOf(span!)).toBeUndefined()
  })

  it('uses the global tracer provider registered after tracing() was called', async () => {
    const traced = tracing()
    const q = createTestQueue({ instrumentation: [traced] })
    q.register('t', async () => undefined)
    expect(trace.setGlobalTracerProvider(sdk.provider)).toBe(true)
    try {
      await q.dispatch(job('t', {}))
      await q.runUntilIdle()
      expect(sdk.spans().map((s) => [s.name, s.instrumentationScope.name])).toEqual([
        ['ferry.dispatch', 'ferry'],
        ['ferry.job t', 'ferry'],
      ])
    } finally {
      trace.disable()
      await q.close()
    }
  })

  it('refuses a linkAfterMs that is negative or not a number', () => {
    expect(() => tracing({ linkAfterMs: -1 })).toThrow(InvalidArgumentError)
    expect(() => tracing({ linkAfterMs: Number.NaN })).toThrow(InvalidArgumentError)
    expect(() => tracing({ linkAfterMs: '5' as unknown as number })).toThrow(InvalidArgumentError)
  })
})
