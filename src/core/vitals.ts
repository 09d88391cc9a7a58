/**
 * An engine's proof of life on its store, and what it knows of which engines are alive
 * (DESIGN §8, "No waiting out a dead engine's lease").
 *
 * On a store with `liveness`, the engine holds its owner id there for its whole life, from
 * before its first claim until the queue closes, and a claim may say which engines are alive:
 * the first claim after each start and, where the liveness watches engines, the next one after
 * it tells of an engine dying and the next one after another engine was heard starting a job
 * (at most once a second; asking also makes the liveness watch that engine). The store then
 * takes over at once the jobs of engines not alive, as if their leases had run out. Claims keep
 * asking while they keep taking dead engines' jobs: one that took fewer than its limit left
 * none behind in its scope. An engine whose proof is taken away (its Web Lock stolen) ends its
 * attempts as lost and holds again under a new owner.
 *
 * @module
 */
import { nanoid } from 'nanoid'
import { LeaseLostError } from './errors.js'
import type { Liveness } from './liveness.js'
import type { AliveOwners, StoredJob } from './store.js'
import type { Clock, QueueEvent } from './types.js'

/** Jobs started by other engines make a claim ask which engines are alive, at most this often. */
const ALIVE_EVERY_MS = 1000

export interface VitalsHost {
  liveness: Liveness | undefined
  clock: Clock
  /** Backoff of a failed hold, by failures in a row. */
  retryMs: readonly number[]
  running(): boolean
  /** This engine runs the job now. */
  runs(jobId: string): boolean
  /** Runs a turn soon. */
  kick(): void
  /** Runs a turn at `at`. */
  wakeAt(at: number): void
  reportError(error: unknown): void
  /** The proof of life was taken away: every attempt ends as if its lease were lost. */
  lost(error: LeaseLostError): void
}

export class Vitals {
  readonly #h: VitalsHost
  /** The name the engine's leases carry; a new one if its proof of life is taken away. */
  #owner = nanoid()
  /** Ends the proof of life; set once it holds. */
  #release: (() => void) | undefined
  #unwatchDeaths: (() => void) | undefined
  /** The next claim says which engines are alive. */
  #ask = false
  /** When the engines alive were last asked, on the clock. */
  #askedAt = Number.NEGATIVE_INFINITY
  #askTimer: unknown
  /** Jobs other engines may have started, heard while a store call of this engine was in flight. */
  readonly #startsHeard = new Set<string>()
  #calling = false
  #closed = false
  /** When to try holding again after a hold failed, and how many failed in a row. */
  #retryAt: number | undefined
  #failures = 0

  constructor(host: VitalsHost) {
    this.#h = host
  }

  get owner(): string {
    return this.#owner
  }

  /** When a failed hold is tried again, if one failed. */
  get retryAt(): number | undefined {
    return this.#retryAt
  }

  /** Whether the next claim should say which engines are alive. */
  get asking(): boolean {
    return this.#ask
  }

  /**
   * The next claim says who is alive: after a start, a change of the claims' scope (a type
   * registered, a queue resumed, the connection back), where the store can tell at all.
   */
  askNext(): void {
    if (this.#h.liveness) this.#ask = true
  }

  /**
   * Holds the owner id in the store's liveness, once in the engine's life, before its first
   * claim: a lease it takes must never look like a dead engine's. False while that fails.
   */
  async prove(): Promise<boolean> {
    const liveness = this.#h.liveness
    if (!liveness || this.#release || !this.#h.running()) return true
    try {
      const owner = this.#owner
      const release = await liveness.hold(owner, () => this.#lost(owner))
      if (this.#closed) {
        release()
        return false
      }
      this.#release = release
      this.#retryAt = undefined
      this.#failures = 0
      this.#unwatchDeaths = liveness.watch?.(() => this.#someoneMayHaveDied())
      return true
    } catch (err) {
      this.#h.reportError(err)
      const retry = this.#h.retryMs
      this.#retryAt = this.#h.clock.now() + (retry[Math.min(this.#failures++, retry.length - 1)] as number)
      this.#h.wakeAt(this.#retryAt)
      return false
    }
  }

  /** Whether the proof holds (or the store cannot tell, and needs none). */
  get proven(): boolean {
    return this.#release !== undefined || !this.#h.liveness
  }

  /** The engines alive now, with the time taken just before asking (see `ClaimRequest.alive`). */
  async alive(): Promise<AliveOwners | undefined> {
    const liveness = this.#h.liveness
    if (!liveness) return undefined
    // Where every engine that can reach the store holds through this liveness, time says nothing.
    const now = this.#h.clock.now()
    const asOf = liveness.exclusive ? Number.MAX_SAFE_INTEGER : now
    try {
      const owners = await liveness.alive()
      this.#askedAt = now
      return { owners, asOf }
    } catch (err) {
      // The claim goes on without: dead engines' jobs then wait for their leases to end.
      this.#ask = false
      this.#h.reportError(err)
      return undefined
    }
  }

  /** A store call of the engine begins: starts heard meanwhile may be its own claims'. */
  calling(): void {
    this.#calling = true
  }

  /**
   * The store call ended. A claim that said who is alive and took fewer dead engines' jobs
   * than its limit left none behind; one that failed asks again.
   */
  called(o: { alive?: AliveOwners; limit?: number; failed?: boolean; claimed?: readonly StoredJob[]; events?: readonly QueueEvent[] }): void {
    this.#calling = false
    if (o.alive && o.failed) this.#ask = true
    else if (o.alive && o.limit !== undefined && (o.events ?? []).filter((e) => e.kind === 'job:stalled').length < o.limit) this.#ask = false
    this.#othersStarted(o.claimed ?? [])
  }

  /**
   * Events committed on the store (by any engine). A job started elsewhere may be an engine
   * this one has not seen: the next claim asks which engines are alive, so that it is watched,
   * and takes over its jobs if it has died already.
   */
  noticed(events: readonly QueueEvent[]): void {
    if (!this.#h.liveness?.watch) return
    for (const e of events) if (e.kind === 'job:started' && !this.#h.runs(e.jobId)) this.#startsHeard.add(e.jobId)
    if (!this.#calling) this.#othersStarted([])
  }

  /** The queue closed: this engine is alive no more, and its leases left are anyone's. */
  close(): void {
    this.#closed = true
    this.#h.clock.clearTimeout(this.#askTimer)
    this.#askTimer = undefined
    this.#unwatchDeaths?.()
    this.#unwatchDeaths = undefined
    this.#release?.()
    this.#release = undefined
  }

  /** The starts heard, less the jobs this engine claimed itself: any left means others work too. */
  #othersStarted(claimed: readonly StoredJob[]): void {
    for (const j of claimed) this.#startsHeard.delete(j.id)
    if (this.#startsHeard.size === 0) return
    this.#startsHeard.clear()
    if (this.#ask || this.#askTimer !== undefined) return
    const wait = this.#askedAt + ALIVE_EVERY_MS - this.#h.clock.now()
    if (wait <= 0) return this.#someoneMayHaveDied()
    this.#askTimer = this.#h.clock.setTimeout(() => {
      this.#askTimer = undefined
      this.#someoneMayHaveDied()
    }, wait)
  }

  #someoneMayHaveDied(): void {
    this.#ask = true
    if (this.#h.running()) this.#h.kick()
  }

  /**
   * The proof of life was taken away (the Web Lock stolen): other engines now take this one's
   * jobs at once. Its attempts end as if their leases were lost, and it holds again under a
   * new owner before it claims.
   */
  #lost(owner: string): void {
    if (owner !== this.#owner || this.#closed) return
    this.#unwatchDeaths?.()
    this.#unwatchDeaths = undefined
    this.#release = undefined
    this.#owner = nanoid()
    this.#ask = true
    this.#h.lost(new LeaseLostError(`this engine's proof of life (${owner}) was taken away: its jobs may run elsewhere`))
  }
}
