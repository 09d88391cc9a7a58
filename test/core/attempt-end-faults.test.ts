import { runInNewContext } from 'node:vm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { JobDeferredError, job, type Instrumentation, type JobContext, type Middleware } from '../../src/index.js'
import type { AttemptEnd } from '../../src/core/instrumentation.js'
import { tracing } from '../../src/otel/index.js'
import { createTestQueue, type TestQueue } from '../../src/testing/index.js'
import { deferred, settle } from '../helpers.js'

function errorsOf(q: TestQueue): string[] {
  const errors: string[] = []
  q.events.subscribe((e) => {
    if (e.kind === 'queue:error') errors.push(e.error.message)
  })
  return errors
}

function ends(): { seen: string[]; instrumentation: Instrumentation } {
  const seen: string[] = []
  return {
    seen,
    instrumentation: {
      attemptEnded(ctx: JobContext, end: AttemptEnd) {
        seen.push(`${ctx.attempt}:${end.outcome}`)
      },
    },
  }
}

// A rejection nobody handles would crash a process run with --unhandled-rejections=strict.
let unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
beforeEach(() => {
  unhandled = []
  process.on('unhandledRejection', onUnhandled)
})
afterEach(() => {
  process.off('unhandledRejection', onUnhandled)
})

/** Lets rejections nobody handled reach the process's unhandledRejection. */
async function turns(): Promise<void> {
  await settle(5)
  await new Promise((r) => setTimeout(r, 20))
}

describe('an attempt that ended before a middleware called next', () => {
  it('has its handler started at once, not after a timeout, when an instrumentation’s middleware awaits before calling next; a later attemptEnded hears the end once', async () => {
    const gate = deferred()
    const { seen, instrumentation } = ends()
    const slow: Instrumentation = {
      middleware: async (_ctx, next) => {
        await gate.promise
        return next()
      },
    }
    const q = createTestQueue({ instrumentation: [slow, instrumentation], handlerWaitMs: 50 })
    const errors = errorsOf(q)
    const started: number[] = []
    q.register('t', async () => void started.push(q.clock.now()))
    const at = q.clock.now()
    const { id } = await q.dispatch(job('t', {}).timeout(1000).retry(0))
    await q.runUntilIdle()
    await q.advance(1000)
    await q.runUntilIdle()
    gate.resolve(undefined)
    await turns()
    expect(started).toEqual([at])
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded' })
    expect(seen).toEqual(['1:succeeded'])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/before its first await/)
    await q.close({ timeoutMs: 10 })
  })

  it('never starts its handler when a middleware of the options calls next after a timeout; next rejects with the timeout', async () => {
    const gate = deferred()
    const got: unknown[] = []
    const late: Middleware = async (_ctx, next) => {
      await gate.promise
      try {
        return await next()
      } catch (err) {
        got.push(err instanceof Error ? err.name : err)
        throw err
      }
    }
    const q = createTestQueue({ middleware: [late], handlerWaitMs: 50 })
    let runs = 0
    q.register('t', async () => void runs++)
    const { id } = await q.dispatch(job('t', {}).timeout(1000).retry(1).backoff(1_000_000))
    await q.runUntilIdle()
    await q.advance(1000)
    await q.runUntilIdle()
    gate.resolve(undefined)
    await turns()
    expect(runs).toBe(0)
    expect(got).toEqual(['JobTimeoutError'])
    expect(await q.getJob(id)).toMatchObject({ state: 'delayed', attempt: 1 })
    await q.close({ timeoutMs: 10 })
  })
})

describe('an instrumentation’s middleware that never calls next', () => {
  it('and never settles is reported, and the handler runs at once; the job keeps its outcome', async () => {
    const q = createTestQueue({ instrumentation: [{ middleware: () => new Promise(() => {}) }], handlerWaitMs: 50 })
    const errors = errorsOf(q)
    let runs = 0
    q.register('t', async () => {
      runs++
      return 'done'
    })
    const { id } = await q.dispatch(job('t', {}).timeout(1000).retry(0))
    await q.runUntilIdle()
    expect(runs).toBe(1)
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', result: 'done' })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/without calling next/)
    await q.close({ timeoutMs: 10 })
  })

  it('until after an await gets the same run of the handler when it calls next late', async () => {
    const seen: unknown[] = []
    const q = createTestQueue({
      instrumentation: [
        {
          middleware: async (_ctx, next) => {
            await settle(1)
            seen.push(await next())
            return 'other'
          },
        },
      ],
      handlerWaitMs: 50,
    })
    const errors = errorsOf(q)
    let runs = 0
    q.register('t', async () => {
      runs++
      return 'done'
    })
    const { id } = await q.dispatch(job('t', {}))
    await q.runUntilIdle()
    expect(runs).toBe(1)
    expect(seen).toEqual(['done'])
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', result: 'done' })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/before its first await/)
    await q.close({ timeoutMs: 10 })
  })
})

describe('an onDispatch that returns a promise', () => {
  it('that rejects is reported once and leaves no rejection unhandled; the dispatch goes on', async () => {
    const q = createTestQueue({ instrumentation: [{ onDispatch: (() => Promise.reject(new Error('async hook'))) as unknown as Instrumentation['onDispatch'] }] })
    const errors = errorsOf(q)
    const { id } = await q.dispatch(job('t', {}))
    await turns()
    expect(unhandled).toEqual([])
    expect(errors).toHaveLength(1)
    expect(await q.getJob(id)).toMatchObject({ state: 'waiting' })
    await q.close()
  })
})

describe('a job cancelled while its handler runs', () => {
  it('is heard cancelled when its timeout passes afterwards', async () => {
    const { seen, instrumentation } = ends()
    const q = createTestQueue({ instrumentation: [instrumentation], handlerWaitMs: 50 })
    q.register('hang', () => new Promise(() => {}))
    const { id } = await q.dispatch(job('hang', {}).timeout(1000).retry(2))
    await q.runUntilIdle()
    await q.cancel(id)
    await q.advance(1000)
    await q.runUntilIdle()
    expect(await q.getJob(id)).toMatchObject({ state: 'cancelled' })
    expect(seen).toEqual(['1:cancelled'])
    await q.close({ timeoutMs: 10 })
  })

  it('is heard cancelled when its handler then defers or skips', async () => {
    const { seen, instrumentation } = ends()
    const gate = deferred()
    const q = createTestQueue({ instrumentation: [instrumentation], handlerWaitMs: 50 })
    q.register('t', async () => {
      await gate.promise
      throw new JobDeferredError(500)
    })
    const { id } = await q.dispatch(job('t', {}))
    await q.runUntilIdle()
    await q.cancel(id)
    gate.resolve(undefined)
    await q.runUntilIdle()
    expect(await q.getJob(id)).toMatchObject({ state: 'cancelled' })
    expect(seen).toEqual(['1:cancelled'])
    await q.close({ timeoutMs: 10 })
  })
})

describe('promises an observer returns', () => {
  it('of another realm are caught when attemptEnded returns one that rejects', async () => {
    const ForeignPromise = runInNewContext('Promise') as PromiseConstructor
    const q = createTestQueue({
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      instrumentation: [{ attemptEnded: () => ForeignPromise.reject(new Error('foreign observer')) }],
    })
    const errors = errorsOf(q)
    q.register('t', async () => 1)
    await q.dispatch(job('t', {}))
    await q.runUntilIdle()
    await turns()
    expect(unhandled).toEqual([])
    expect(errors).toEqual(['foreign observer'])
    await q.close()
  })

  it('are caught when a span’s methods reject; the job runs as without tracing', async () => {
    const span = {
      spanContext: () => ({ traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', traceFlags: 1 }),
      setAttribute() { return this },
      setAttributes() { return this },
      addEvent() { return this },
      setStatus() { return this },
      updateName() { return this },
      isRecording: () => true,
      recordException() {},
      end: async () => Promise.reject(new Error('span.end rejected')),
    }
    const tracer = { startSpan: () => span, startActiveSpan: () => { throw new Error('unused') } }
    const q = createTestQueue({ instrumentation: [tracing({ tracer: tracer as never })] })
    q.register('t', async () => 1)
    const { id } = await q.dispatch(job('t', {}))
    await q.runUntilIdle()
    await turns()
    expect(unhandled).toEqual([])
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', result: 1 })
    await q.close()
  })
})

describe('an aroundDispatch that calls run twice', () => {
  it('is reported, and the jobs are written once', async () => {
    const q = createTestQueue({
      instrumentation: [
        {
          aroundDispatch: async (_call, run) => {
            const first = run()
            await run()
            return first
          },
        },
      ],
    })
    const errors = errorsOf(q)
    await q.dispatch(job('t', {}))
    await turns()
    expect(await q.listJobs({})).toHaveLength(1)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/run\(\) called more than once|more than once/)
    await q.close()
  })
})

describe('whenAttemptEnds', () => {
  it('calls an observer at once with the end when the attempt has ended already', async () => {
    const { whenAttemptEnds } = await import('../../src/core/attempt.js')
    const q = createTestQueue()
    let kept: JobContext | undefined
    q.register('t', async (_p, ctx) => {
      kept = ctx
      return 1
    })
    await q.dispatch(job('t', {}))
    await q.runUntilIdle()
    const heard: string[] = []
    expect(whenAttemptEnds(kept as JobContext, (end) => heard.push(end.outcome))).toBe(true)
    expect(heard).toEqual(['succeeded'])
    expect(whenAttemptEnds({ ...(kept as JobContext) }, () => heard.push('other'))).toBe(false)
    expect(heard).toEqual(['succeeded'])
    await q.close()
  })
})
