/**
 * The shape every state stream shares: read the current state, emit it, then read again after
 * each relevant event, at most one read at a time (events that arrive during a read cause one
 * more read, not one each), until the state is final. A plan with a window also reads at most
 * once per window while events keep arriving, and once more after the last of them.
 *
 * @module
 */
import { Observable } from 'rxjs'
import type { QueueEvent, QueueLike } from '../core/types.js'

export interface RefreshPlan<T> {
  read: () => Promise<T>
  /** Whether an event may have changed the state. */
  relevant: (e: QueueEvent) => boolean
  /** The state is final: emit it and complete. */
  done?: (value: T) => boolean
  /** Two reads that are the same are emitted once. @default JSON equality */
  same?: (a: T, b: T) => boolean
  /**
   * Reads start at least this many milliseconds apart; an event inside the window is answered
   * by one read when it ends. Measured with the platform's timers, not the queue's clock: a
   * test's manual clock must not hold a display back. @default 0 (read again at once)
   */
  windowMs?: number
}

/** A millisecond clock that only moves forward, read from the platform when called. */
function since(start: number): number {
  return globalThis.performance.now() - start
}

export function refreshing<T>(q: QueueLike, plan: RefreshPlan<T>): Observable<T> {
  const same = plan.same ?? ((a: T, b: T) => JSON.stringify(a) === JSON.stringify(b))
  const windowMs = plan.windowMs ?? 0
  return new Observable<T>((subscriber) => {
    let reading = false
    let again = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let lastStart: number | undefined
    let last: { value: T } | undefined

    const read = async (): Promise<void> => {
      reading = true
      lastStart = globalThis.performance.now()
      try {
        again = false
        const value = await plan.read()
        if (subscriber.closed) return
        if (!last || !same(last.value, value)) {
          last = { value }
          subscriber.next(value)
        }
        if (plan.done?.(value)) {
          subscriber.complete()
          return
        }
      } catch (err) {
        subscriber.error(err)
        return
      } finally {
        reading = false
      }
      if (again) request()
    }

    // Asks for a read: now, when the window ends, or when the read in flight ends.
    const request = (): void => {
      if (reading) {
        again = true
        return
      }
      if (timer !== undefined || subscriber.closed) return
      const wait = lastStart === undefined ? 0 : Math.min(windowMs, windowMs - since(lastStart))
      if (wait <= 0) {
        void read()
        return
      }
      timer = globalThis.setTimeout(() => {
        timer = undefined
        void read()
      }, wait)
    }

    // Listen before the first read, so no change between the two is missed.
    const stop = q.events.subscribe((e) => {
      if (plan.relevant(e)) request()
    })
    request()
    return () => {
      stop()
      if (timer !== undefined) globalThis.clearTimeout(timer)
      timer = undefined
    }
  })
}
