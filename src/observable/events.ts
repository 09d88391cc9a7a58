/**
 * `events$` and `ofKind`: a queue's events as an Observable, and a filter that narrows them.
 *
 * @module
 */
import { Observable, filter, type OperatorFunction } from 'rxjs'
import type { QueueEvent, QueueLike } from '../core/types.js'

/**
 * Every event of the queue, from the moment of subscribing: hot, nothing replayed. Each
 * subscription holds one listener on the queue, released when it unsubscribes.
 */
export function events$(q: QueueLike): Observable<QueueEvent> {
  return new Observable<QueueEvent>((subscriber) => q.events.subscribe((e) => subscriber.next(e)))
}

/**
 * Keeps the events of these kinds; the output type narrows to them.
 * @example events$(queue).pipe(ofKind('job:failed')).subscribe((e) => log(e.error.message))
 */
export function ofKind<K extends QueueEvent['kind']>(...kinds: K[]): OperatorFunction<QueueEvent, Extract<QueueEvent, { kind: K }>> {
  const wanted = new Set<string>(kinds)
  return filter((e): e is Extract<QueueEvent, { kind: K }> => wanted.has(e.kind))
}
