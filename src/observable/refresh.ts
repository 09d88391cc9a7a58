/**
 * The shape every state stream shares: read the current state, emit it, then read again after
 * each relevant event, at most one read at a time (events that arrive during a read cause one
 * more read, not one each), until the state is final.
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
}

export function refreshing<T>(q: QueueLike, plan: RefreshPlan<T>): Observable<T> {
  const same = plan.same ?? ((a: T, b: T) => JSON.stringify(a) === JSON.stringify(b))
  return new Observable<T>((subscriber) => {
    let reading = false
    let again = false
    let last: { value: T } | undefined
    const read = async (): Promise<void> => {
      if (reading) {
        again = true
        return
      }
      reading = true
      try {
        do {
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
        } while (again)
      } catch (err) {
        subscriber.error(err)
      } finally {
        reading = false
      }
    }
    // Listen before the first read, so no change between the two is missed.
    const stop = q.events.subscribe((e) => {
      if (plan.relevant(e)) void read()
    })
    void read()
    return stop
  })
}
