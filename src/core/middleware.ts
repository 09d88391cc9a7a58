/**
 * Middleware wraps each attempt: `(ctx, next) => Promise<unknown>`. The first in the list is
 * the outermost. The ones here are kept by the engine that runs them (not shared across tabs
 * or processes).
 *
 * @module
 */
import { JobDeferredError, JobSkippedError, QueueError, UnrecoverableError } from './errors.js'
import type { Clock, JobContext, Middleware } from './types.js'
import { systemClock } from './clock.js'

// The engine's clock for each attempt it runs, so that the middleware here keeps time as the
// queue does: on a test queue's manual clock a rate limit window ends when the clock says so.
const clocks = new WeakMap<JobContext, Clock>()

/** The clock of the engine running this attempt; the system clock outside an engine. */
function clockOf(ctx: JobContext, given: Clock | undefined): Clock {
  return given ?? clocks.get(ctx) ?? systemClock
}

/**
 * Runs `last` inside `middleware`, first outermost. `clock` is the time the middleware keeps
 * (rate limit windows, overlap ttl). @default the system clock
 */
export function compose(middleware: readonly Middleware[], ctx: JobContext, last: () => Promise<unknown>, clock?: Clock): Promise<unknown> {
  if (clock) clocks.set(ctx, clock)
  const call = (i: number): Promise<unknown> => {
    const m = middleware[i]
    if (!m) return last()
    let called = false
    return m(ctx, () => {
      if (called) return Promise.reject(new Error('next() called more than once in a middleware'))
      called = true
      return call(i + 1)
    })
  }
  return call(0)
}

/**
 * An observer's middleware (an instrumentation's), made unable to change an attempt: the
 * attempt's outcome is always that of `next` (the rest of the chain and the handler), and the
 * observer's faults are given to `report`. It must call `next` before its first await: one that
 * throws before calling it, or returns (a promise) without having called it, has `next` called
 * for it at once, and is reported once, with what it threw or rejects with, or else as a
 * middleware that returned without calling `next` (when it resolves or `next` settles, whichever
 * comes first: one that never settles is reported all the same); calling `next` later gets that
 * same run. One that fails after `next` settled (with anything but what `next` rejected with) is
 * reported; a second call of `next` is reported and gets the first call's promise, so the handler
 * runs once. Once `next` has settled, the attempt ends with it, whether or not the observer ever
 * settles.
 */
export function observing(m: Middleware, report: (error: unknown) => void): Middleware {
  return (ctx, next) => {
    let ran: Promise<unknown> | undefined
    const start = (): Promise<unknown> => {
      if (!ran) {
        try {
          ran = next()
        } catch (err) {
          ran = Promise.reject(err)
        }
      }
      return ran
    }
    let calls = 0
    const once = (): Promise<unknown> => {
      if (++calls > 1) report(new QueueError('next() called more than once in a middleware of the instrumentation', { code: 'INSTRUMENTATION' }))
      return start()
    }
    let out: Promise<unknown>
    try {
      out = Promise.resolve(m(ctx, once))
    } catch (err) {
      report(err)
      return start()
    }
    // Not called before it returned: the rest of the chain and the handler start now, and the
    // fault is reported once, when the observer settles or `next` does, whichever comes first.
    let unreported = !ran
    const fault = (err: unknown): void => {
      if (!unreported) return
      unreported = false
      report(err)
    }
    const missing = (): void =>
      fault(new QueueError('a middleware of the instrumentation returned without calling next: it must call next before its first await', { code: 'INSTRUMENTATION' }))
    const running = start()
    if (unreported) running.then(missing, missing)
    const byObserver = out.then(
      () => {
        missing()
        return running
      },
      (err: unknown) => {
        if (unreported) {
          fault(err)
          return running
        }
        return running.then(
          (v) => {
            report(err)
            return v
          },
          (own: unknown) => {
            if (own !== err) report(err)
            throw own
          },
        )
      },
    )
    return Promise.race([running, byObserver])
  }
}

/**
 * At most `limit` attempts start per `intervalMs` (per key, default: per job type). A job over
 * the limit goes back to the queue until the window has room, without spending an attempt.
 * Windows are kept on the clock of the engine that runs the job (a test queue's manual clock)
 * unless `clock` is given.
 * @example rateLimit({ limit: 10, intervalMs: 1000 })
 */
export function rateLimit(o: { limit: number; intervalMs: number; key?: (ctx: JobContext) => string; clock?: Clock }): Middleware {
  const starts = new Map<string, number[]>()
  return async (ctx, next) => {
    const key = o.key ? o.key(ctx) : ctx.type
    const now = clockOf(ctx, o.clock).now()
    const recent = (starts.get(key) ?? []).filter((t) => t > now - o.intervalMs)
    if (recent.length >= o.limit) {
      starts.set(key, recent)
      throw new JobDeferredError((recent[0] as number) + o.intervalMs - now, `rate limit of ${o.limit} per ${o.intervalMs} ms reached for ${key}`)
    }
    recent.push(now)
    starts.set(key, recent)
    return next()
  }
}

/** Finishes the job without running it when the predicate holds (`job:skipped`). */
export function skipWhen(predicate: (ctx: JobContext) => boolean | Promise<boolean>): Middleware {
  return async (ctx, next) => {
    if (await predicate(ctx)) throw new JobSkippedError(`job ${ctx.id} skipped`)
    return next()
  }
}

/** Errors matching `when` (default: every error) fail the job at once, without retries. */
export function failOnError(when: (err: unknown) => boolean = () => true): Middleware {
  return async (_ctx, next) => {
    try {
      return await next()
    } catch (err) {
      if (err instanceof UnrecoverableError || err instanceof JobDeferredError || err instanceof JobSkippedError || !when(err)) throw err
      const message = err instanceof Error ? err.message : String(err)
      const e = new UnrecoverableError(message, { cause: err })
      if (err instanceof Error) e.stack = err.stack ?? e.stack
      throw e
    }
  }
}

/**
 * Jobs with the same key do not run at the same time: one that would overlap goes back to the
 * queue for `retryAfterMs` without spending an attempt. `ttlMs` bounds how long a key is held
 * if an attempt never settles.
 */
export function withoutOverlapping(o: { key: (ctx: JobContext) => string; ttlMs?: number; retryAfterMs?: number; clock?: Clock }): Middleware {
  const held = new Map<string, number>()
  return async (ctx, next) => {
    const key = o.key(ctx)
    const now = clockOf(ctx, o.clock).now()
    const until = held.get(key)
    if (until !== undefined && until > now) throw new JobDeferredError(o.retryAfterMs ?? 1000, `another job holds ${key}`)
    held.set(key, o.ttlMs === undefined ? Number.POSITIVE_INFINITY : now + o.ttlMs)
    try {
      return await next()
    } finally {
      held.delete(key)
    }
  }
}
