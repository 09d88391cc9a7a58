/**
 * ferry/observable: a queue's events and state as RxJS Observables. Works on a `Queue` and on
 * a `QueueClient` of a queue hosted in a worker alike (`QueueLike`). The only part of ferry
 * that imports `rxjs`.
 *
 * @module ferry/observable
 */
export { events$, ofKind } from './events.js'
export { batch$, chain$, counts$, job$ } from './state.js'
export { online$ } from './network.js'
export type { NetworkAware } from './network.js'
export type { QueueLike } from '../core/types.js'
