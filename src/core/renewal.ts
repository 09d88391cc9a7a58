/**
 * Lease renewal of an engine. While attempts run, jobs wait claimed ahead, or outcomes wait for
 * their commit, their leases are extended in one store call every third of the lease: a slow
 * or failing settle must not let another engine run a job that already finished here. A
 * failed renewal is reported and tried again a third of a lease later.
 *
 * @module
 */
import type { RenewOutcome, Store } from './store.js'
import type { Clock } from './types.js'

export interface RenewalHost {
  store: Store
  clock: Clock
  leaseMs: number
  /** Whether any lease must be kept now. */
  holds(): boolean
  /** The leases to keep now: job id to token. */
  leases(): Map<string, string>
  /** The store extended the leases `held` of those `asked`; the others are lost. */
  renewed(asked: ReadonlyMap<string, string>, out: RenewOutcome, now: number): void
  reportError(error: unknown): void
}

export class Renewal {
  readonly #h: RenewalHost
  #handle: unknown

  constructor(host: RenewalHost) {
    this.#h = host
  }

  /** Renews every third of the lease from now on, while the engine holds leases. */
  arm(): void {
    if (this.#handle !== undefined) return
    const every = Math.max(1, Math.floor(this.#h.leaseMs / 3))
    const handle = this.#h.clock.setTimeout(() => {
      void this.#renew().finally(() => {
        // Cleared or replaced while renewing: the current timer is someone else's.
        if (this.#handle !== handle) return
        this.#handle = undefined
        if (this.#h.holds()) this.arm()
      })
    }, every)
    this.#handle = handle
  }

  clear(): void {
    this.#h.clock.clearTimeout(this.#handle)
    this.#handle = undefined
  }

  async #renew(): Promise<void> {
    const h = this.#h
    const leases = h.leases()
    if (leases.size === 0) return
    const now = h.clock.now()
    let out
    try {
      out = await h.store.renew({ now, until: now + h.leaseMs, leases: [...leases].map(([id, token]) => ({ id, token })) })
    } catch (err) {
      h.reportError(err)
      return
    }
    h.renewed(leases, out, now)
  }
}
