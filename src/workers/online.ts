/**
 * What a client of a queue hosted elsewhere knows of the host's network: the host engine's
 * connectivity is the one that counts (its jobs of network mode `'online'` wait while it is
 * offline), so a client shows the host's state, not the page's.
 *
 * @module
 */
import type { Emitter } from '../core/emitter.js'
import type { QueueEvent } from '../core/types.js'

/**
 * The host's online state as a client sees it: true until the host has told, then what the
 * host said last. It is learned two ways: the host's `queue:online` / `queue:offline` events,
 * passed on as they are, and the host's state read when a client connects (or a new host takes
 * over), which emits the matching event when it differs from what the client showed, so a
 * listener of `events` sees every change of `online`.
 */
export class OnlineView {
  #online = true
  readonly #emitter: Emitter<QueueEvent>
  #told = (): void => {}
  /** Settles once the host's state was first learned. */
  readonly told = new Promise<void>((resolve) => (this.#told = resolve))

  constructor(emitter: Emitter<QueueEvent>) {
    this.#emitter = emitter
  }

  get online(): boolean {
    return this.#online
  }

  /** Passes on one of the host's events, noting a change of its network. */
  deliver(e: QueueEvent): void {
    if (e.kind === 'queue:online') this.#online = true
    else if (e.kind === 'queue:offline') this.#online = false
    this.#emitter.emit(e)
  }

  /** Takes the host's state as read now. */
  learn(online: boolean): void {
    this.#told()
    if (online === this.#online) return
    this.deliver({ kind: online ? 'queue:online' : 'queue:offline', at: Date.now() })
  }
}

/** The first message on a client's event port: the host's state, then events follow in order. */
export interface StateMessage {
  online: boolean
}

export const isStateMessage = (v: unknown): v is StateMessage =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Partial<StateMessage>).online === 'boolean'
