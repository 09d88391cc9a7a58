/**
 * What the network lets an engine claim, and what a failure while offline means (DESIGN §8).
 *
 * While offline, no job of network mode `'online'` is claimed, and none of an `'offlineFirst'`
 * type once one of its jobs failed offline (the others would most likely fail the same way).
 * A job of either mode whose attempt fails while the engine is offline, or saw the network drop
 * during the attempt, goes back without spending the attempt: an offline period of any length
 * fails none. An unrecoverable error still fails it.
 *
 * @module
 */
import { endAttempt, type Attempt } from './attempt.js'
import type { NetworkMode } from './connectivity.js'
import type { AttemptOutcome } from './store.js'
import type { Clock } from './types.js'

export interface NetworkGateHost {
  /** Each registered type's network mode. */
  network: ReadonlyMap<string, NetworkMode>
  online(): boolean
  clock: Clock
}

export class NetworkGate {
  readonly #h: NetworkGateHost
  /** Types of network mode `'offlineFirst'` of which an attempt failed while offline. */
  readonly #held = new Set<string>()
  /** The last answer of `claimable`, kept while nothing it depends on changed: a claim per turn asks. */
  #last: { online: boolean; count: number; types: string[] } | undefined

  constructor(host: NetworkGateHost) {
    this.#h = host
  }

  /** The types a claim may take now, of the registered `handlers`. */
  claimable(handlers: ReadonlyMap<string, unknown>): string[] {
    const online = this.#h.online()
    const last = this.#last
    if (last && last.online === online && last.count === handlers.size) return last.types
    const types = [...handlers.keys()].filter((t) => this.allows(t, online))
    this.#last = { online, count: handlers.size, types }
    return types
  }

  /** Whether a job of `type` may start now. */
  allows(type: string, online = this.#h.online()): boolean {
    return online || (this.#h.network.get(type) !== 'online' && !this.#held.has(type))
  }

  /** An attempt begins: it counts as offline if the engine is. */
  begins(a: Attempt): void {
    a.sawOffline = !this.#h.online()
  }

  /** The network went away: every attempt running now saw it. */
  wentOffline(running: Iterable<Attempt>): void {
    for (const a of running) a.sawOffline = true
  }

  /** The connection is back: every type may be claimed again. */
  cameOnline(): void {
    this.#held.clear()
    this.#last = undefined
  }

  /** The type was registered again: its network mode may have changed. */
  registered(type: string): void {
    this.#held.delete(type)
    this.#last = undefined
  }

  /**
   * What an attempt's outcome becomes, given the network it met: the engine settles its job with
   * it, and the attempt's observers hear it (`endAttempt`).
   */
  outcome(a: Attempt, outcome: AttemptOutcome): AttemptOutcome {
    const decided = this.#decide(a, outcome)
    endAttempt(a, decided)
    return decided
  }

  #decide(a: Attempt, outcome: AttemptOutcome): AttemptOutcome {
    const mode = this.#h.network.get(a.job.type) ?? 'always'
    if (outcome.kind !== 'failed' || outcome.unrecoverable || mode === 'always') return outcome
    const online = this.#h.online()
    if (!a.sawOffline && online) return outcome
    if (mode === 'offlineFirst' && !online && !this.#held.has(a.job.type)) {
      this.#held.add(a.job.type)
      this.#last = undefined
    }
    return { kind: 'deferred', runAt: this.#h.clock.now() }
  }
}
