/**
 * A minimal multicast: the queue's `events`. Listeners are called in order; one that throws
 * does not stop the others or the engine.
 *
 * @module
 */
import type { Subscribable } from './types.js'

export class Emitter<T> implements Subscribable<T> {
  readonly #listeners = new Set<(value: T) => void>()
  readonly #onListenerError: (err: unknown, value: T) => void

  constructor(onListenerError: (err: unknown, value: T) => void = () => {}) {
    this.#onListenerError = onListenerError
  }

  /** Listeners now subscribed: lets tests prove that unsubscribing leaves nothing behind. */
  get listenerCount(): number {
    return this.#listeners.size
  }

  subscribe(listener: (value: T) => void): () => void {
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const l = (v: T): void => listener(v)
    this.#listeners.add(l)
    return () => {
      this.#listeners.delete(l)
    }
  }

  emit(value: T): void {
    for (const l of [...this.#listeners]) {
      try {
        l(value)
      } catch (err) {
        this.#onListenerError(err, value)
      }
    }
  }
}
