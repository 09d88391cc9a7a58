/**
 * `online$`: whether the engine is online, now and at every change.
 *
 * @module
 */
import { Observable } from 'rxjs'
import type { QueueLike } from '../core/types.js'

/** A queue or a `QueueClient` that tells its engine's network state. */
export type NetworkAware = QueueLike & { readonly online: boolean }

/**
 * The engine's network state now, then each change (`queue:online` / `queue:offline`), never
 * the same value twice in a row. For a `QueueClient`, the state of the engine in its worker.
 * @example online$(queue).subscribe((online) => banner.hidden = online)
 */
export function online$(q: NetworkAware): Observable<boolean> {
  return new Observable<boolean>((subscriber) => {
    let last: boolean | undefined
    const next = (online: boolean): void => {
      if (online === last) return
      last = online
      subscriber.next(online)
    }
    // Listen first: a change between reading the state and listening is not lost.
    const unsubscribe = q.events.subscribe((e) => {
      if (e.kind === 'queue:online') next(true)
      else if (e.kind === 'queue:offline') next(false)
    })
    next(q.online)
    return unsubscribe
  })
}
