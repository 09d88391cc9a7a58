/**
 * The worker loop of one engine.
 *
 * The loop makes one store call per turn, `settleAndClaim`: it hands back the attempts that
 * finished since the last turn and, while the engine runs and has free slots, leases as many
 * ready jobs as there are free slots. A turn runs when something happens (a local dispatch, an
 * attempt finishing, a resume, the wake timer for the next delayed job, schedule or lease
 * expiry), never on a fixed poll. Schedules fire and delayed jobs come due on time whether or
 * not the engine can claim (slots busy, queues paused, no handler): the engine keeps the time
 * the next of them falls due, and a turn past it, or one that does not know it, asks the store
 * for that tick too. Attempts that finish while a turn is in flight wait for the next one, so
 * under load many settlements and claims share one transaction (group commit).
 *
 * An attempt occupies a slot from its claim until its outcome is known: it returns, throws,
 * times out (the slot frees at once; a late result is discarded), or loses its lease. While
 * attempts run, and until their outcomes are committed, their leases are renewed in one store
 * call every third of the lease: a slow or failing settle must not let another engine run a
 * job that already finished here. A claim names the jobs whose handlers run here: the store
 * hands none of them back to this engine, neither an expired lease of its own (renewals failed
 * for a while) nor the job waiting again, so one job never overlaps itself here. An attempt
 * that ended (timed out, lease lost, released by stop) while its handler goes on is named for
 * one lease after it ended, no longer: a handler that ignores its signal and never returns is
 * then given up on (its late result is discarded), so it holds neither its slot nor, for
 * good, its job, and claims do not grow with the number of such handlers.
 *
 * Claim-ahead: once attempts prove fast, a claim leases more jobs than there are free slots;
 * the extra ones wait in a bounded buffer, leased and renewed like running ones, and start the
 * moment a slot frees, without a store call; the next turn settles the attempts that ended
 * meanwhile and refills the buffer (see `claim-ahead.ts`: how many, and when they go back).
 *
 * Dead engines: on a store with `liveness`, the engine proves itself alive before its first
 * claim, and some claims say which engines are alive, so the store takes over at once the jobs
 * of engines that died (see `vitals.ts`).
 *
 * Stopping: no more claims; jobs that a claim in flight brings back are released at once.
 * Running attempts get `timeoutMs` to finish, then their signals are aborted and their jobs
 * released to the queue without spending the attempt. Outcomes the store has not taken by then
 * get as long again, but the first failing store call ends that wait: the store may never
 * recover (a newer version of the application upgraded its schema). Outcomes given up on leave
 * their jobs leased until the lease runs out, or the queue closes and its engine is no longer
 * alive; then any engine takes them over.
 *
 * @module
 */
import { nanoid } from 'nanoid'
import { abort, outcomeOf, runHandler, type Attempt, type AttemptHost } from './attempt.js'
import { ClaimAhead, HOARD_MS, type Ahead } from './claim-ahead.js'
import { MAX_TIMER_MS, settlesWithin } from './clock.js'
import type { NetworkMode } from './connectivity.js'
import { DueTimes, earliest } from './due-times.js'
import { JobCancelledError, JobTimeoutError, LeaseLostError, QueueClosedError, SerializationError, StorageError, serializeError } from './errors.js'
import { NetworkGate } from './network-gate.js'
import { Slice } from './slice.js'
import type { AttemptOutcome, ClaimRequest, Settlement, StoredJob } from './store.js'
import type { QueueEvent } from './types.js'
import { Vitals } from './vitals.js'

export interface RunnerHost extends AttemptHost {
  queues: readonly string[]
  concurrency: number
  leaseMs: number
  paused: ReadonlySet<string>
  /** Each registered type's network mode. */
  network: ReadonlyMap<string, NetworkMode>
  online(): boolean
  emit(events: QueueEvent[]): void
  reportError(error: unknown): void
}

const RETRY_STORE_MS = [100, 500, 2000, 5000]


export class Runner {
  readonly #h: RunnerHost
  readonly #attempts = new Map<string, Attempt>()
  /**
   * Attempts that ended (timed out, lease lost, released by stop) while their handler goes on,
   * with the time until which claims leave their job alone: one lease after the attempt ended.
   */
  readonly #hung = new Map<Attempt, number>()
  #settlements: Settlement[] = []
  /** Settlements in the store call in flight. */
  #committing: Settlement[] = []
  #running = false
  #busy = false
  #again = false
  #kicked = false
  #wake: { at: number; handle: unknown } | undefined
  readonly #due = new DueTimes()
  #renewHandle: unknown
  #storeFailures = 0
  /**
   * A stop past its timeout: 'on-failure' while outcomes still get their chance to commit (a
   * failing store call gives them up), 'given-up' once they were dropped.
   */
  #giveUp: 'no' | 'on-failure' | 'given-up' = 'no'
  #drained: (() => void)[] = []
  /** Counts turns and finished attempts: lets a test tell whether anything moved. */
  #progress = 0
  readonly #slice = new Slice()
  readonly #gate: NetworkGate
  /** The last turn found nothing ready that it could claim: no attempt runs, none waits to settle. */
  #quiet = false
  #quietWaiters: ((quiet: boolean) => void)[] = []
  readonly #vitals: Vitals
  /** Jobs claimed ahead of free slots. */
  readonly #ahead = new ClaimAhead()
  /** When the last attempt started: a buffer that has not moved for HOARD_MS goes back. */
  #lastStartAt = 0
  /** The engine's queues, when none is paused. */
  readonly #allQueues: string[]

  constructor(host: RunnerHost) {
    this.#h = host
    this.#allQueues = [...host.queues]
    this.#gate = new NetworkGate(host)
    this.#vitals = new Vitals({
      liveness: host.store.liveness,
      clock: host.clock,
      retryMs: RETRY_STORE_MS,
      running: () => this.#running,
      runs: (id) => this.#attempts.has(id) || this.#ahead.has(id),
      kick: () => this.#kick(),
      wakeAt: (at) => this.#armWake(at),
      reportError: (err) => host.reportError(err),
      lost: (err) => this.#proofLost(err),
    })
  }

  get running(): boolean {
    return this.#running
  }

  /** What the loop is doing now, for test kits that wait for it to go quiet. */
  activity(): { busy: boolean; settling: number; running: number; progress: number } {
    const running = this.#attempts.size + this.#ahead.size
    return { busy: this.#busy || this.#kicked, settling: this.#settlements.length, running, progress: this.#progress }
  }

  start(): void {
    this.#running = true
    // Leases left by engines that died before this one started are taken over at once.
    this.#vitals.askNext()
    this.#giveUp = 'no'
    this.kick()
  }

  /** Something changed in the store (`events`, when given, say what): runs a turn soon. */
  kick(events?: readonly QueueEvent[]): void {
    this.#due.heard(events)
    this.#kick()
  }

  /** Runs a turn soon: attempts finishing in the same tick share it. */
  #kick(): void {
    this.#quiet = false
    // A turn under way goes round again: no microtask needed (this runs once per attempt).
    if (this.#busy) this.#again = true
    if (this.#kicked || this.#busy) return
    this.#kicked = true
    // Not queueMicrotask: Node wraps each in an AsyncResource.
    void Promise.resolve().then(() => {
      this.#kicked = false
      void this.#turn()
    })
  }

  async stop(timeoutMs: number): Promise<void> {
    this.#running = false
    this.#clearWake()
    this.#releaseAhead()
    if (!(await this.#drainsWithin(timeoutMs))) {
      if (this.#running) return // started again meanwhile: its attempts go on
      const now = this.#h.clock.now()
      for (const a of [...this.#attempts.values()]) {
        abort(a, new QueueClosedError('the queue stopped before this attempt finished'))
        this.#finish(a, { kind: 'deferred', runAt: now })
      }
      this.#giveUp = 'on-failure'
      // Retry now rather than after the backoff of earlier failures.
      this.#clearWake()
      this.#kick()
      if (!(await this.#drainsWithin(timeoutMs)) && !this.#running) this.#abandon()
    }
    if (this.#running) return
    this.#clearRenew()
    this.#clearWake()
    // A drain waiting for a turn that will not come now hears that the engine stopped.
    for (const resolve of this.#quietWaiters.splice(0)) resolve(this.#quiet)
  }

  #drainsWithin(ms: number): Promise<boolean> {
    return this.#idle() ? Promise.resolve(true) : settlesWithin(this.#h.clock, ms, this.#whenDrained())
  }

  /** Drops the outcomes the store did not take, and says so: stop must end. */
  #abandon(): void {
    const ids = new Set([...this.#settlements, ...this.#committing].map((s) => s.id))
    this.#giveUp = 'given-up'
    this.#settlements = []
    this.#committing = []
    this.#clearWake()
    this.#clearRenew()
    if (ids.size > 0) {
      const n = ids.size === 1 ? 'one job' : `${ids.size} jobs`
      this.#h.reportError(
        new StorageError(`stop gave up on storing the outcome of ${n}; they are claimed again once their leases run out`),
      )
    }
    for (const resolve of this.#drained.splice(0)) resolve()
  }

  /** Events committed on the store, by this engine or others. */
  noticed(events: readonly QueueEvent[]): void {
    this.#vitals.noticed(events)
  }

  /** The queue closed: this engine is alive no more, and its leases left are anyone's. */
  close(): void {
    this.#vitals.close()
  }

  /** The proof of life was taken away: every attempt ends as if its lease were lost. */
  #proofLost(err: LeaseLostError): void {
    this.#h.reportError(err)
    const now = this.#h.clock.now()
    for (const a of [...this.#attempts.values()]) {
      abort(a, new LeaseLostError(`job ${a.job.id} is no longer leased to this engine`))
      this.#h.emit([{ kind: 'lease:lost', at: now, jobId: a.job.id }])
      this.#finish(a, null)
    }
    // Their leases may be taken over already: a release that comes late changes nothing.
    this.#releaseAhead()
    this.#kick()
  }

  /** Aborts a running attempt whose job was cancelled; a job claimed ahead never starts. */
  cancelled(id: string): void {
    const e = this.#ahead.take(id)
    if (e) {
      this.#settlements.push({ id, token: e.token, outcome: { kind: 'cancelled' } })
      this.#kick()
      return
    }
    const a = this.#attempts.get(id)
    if (!a) return
    a.cancelled = true
    abort(a, new JobCancelledError(`job ${id} was cancelled`))
  }

  /** The network came or went. Online, the jobs that waited for it are claimed at once. */
  connectivity(online: boolean): void {
    if (!online) {
      this.#gate.wentOffline(this.#attempts.values())
      this.#releaseAhead((j) => !this.#runnable(j))
      return
    }
    this.#gate.cameOnline()
    // Jobs of network-bound types that dead engines left were outside the claims made offline.
    this.#vitals.askNext()
    if (this.#running) this.#kick()
  }

  /**
   * Resolves true once a turn finds nothing ready to claim while no attempt runs or waits to
   * settle; false if the engine stopped first.
   */
  quiet(): Promise<boolean> {
    return new Promise((resolve) => {
      this.#quietWaiters.push(resolve)
      this.#kick()
    })
  }

  #whenDrained(): Promise<void> {
    if (this.#idle()) return Promise.resolve()
    return new Promise((resolve) => this.#drained.push(resolve))
  }

  #idle(): boolean {
    return this.#attempts.size === 0 && this.#ahead.size === 0 && this.#settlements.length === 0 && !this.#busy
  }

  async #turn(): Promise<void> {
    if (this.#busy) {
      this.#again = true
      return
    }
    this.#busy = true
    try {
      do {
        this.#again = false
        await this.#slice.breathe()
        await this.#step()
      } while (this.#again)
    } finally {
      this.#busy = false
      this.#progress++
      if (!this.#holdsLeases()) this.#clearRenew()
      if (this.#idle()) {
        for (const resolve of this.#drained.splice(0)) resolve()
        if ((this.#quiet || !this.#running) && !this.#kicked) for (const resolve of this.#quietWaiters.splice(0)) resolve(this.#quiet)
      }
    }
  }

  async #step(): Promise<void> {
    const h = this.#h
    // Held already (or nothing to hold): the hot path awaits nothing more.
    const proven = this.#vitals.proven || (await this.#vitals.prove())
    if (this.#ahead.size > 0) this.#sweep()
    const free = this.#running && proven ? h.concurrency - this.#attempts.size : 0
    const queues = h.paused.size === 0 ? this.#allQueues : h.queues.filter((q) => !h.paused.has(q))
    const types = this.#gate.claimable(h.handlers)
    let now = h.clock.now()
    // A refill alone waits until half the buffer is gone; with a call made anyway it is free.
    const calling = free > 0 || this.#settlements.length > 0 || (this.#running && this.#due.needsTick(now))
    const limit = free + (this.#running && proven ? this.#ahead.wanted(h.concurrency, calling) : 0)
    const claiming = limit > 0 && queues.length > 0 && types.length > 0
    const alive = claiming && this.#vitals.asking ? await this.#vitals.alive() : undefined
    const settle = this.#settlements
    this.#settlements = []
    now = h.clock.now()
    // A handler still going one lease after its attempt ended is given up on: its job may run here again.
    for (const [a, until] of this.#hung) if (until <= now) this.#hung.delete(a)
    const claim: ClaimRequest | undefined = claiming
      ? { owner: this.#vitals.owner, token: nanoid(), queues, types, limit, leaseUntil: now + h.leaseMs, ...this.#runningIds(), ...(alive ? { alive } : {}) }
      : undefined
    const tick = this.#running && this.#due.needsTick(now) ? { queues: [...h.queues] } : undefined
    this.#quiet = false
    const hoardAt = this.#ahead.size > 0 ? this.#lastStartAt + HOARD_MS : undefined
    if (settle.length === 0 && !claim && !tick) {
      this.#quiet = this.#running && this.#attempts.size === 0 && this.#ahead.size === 0
      // The timer may have gone off for something earlier (a lease end): keep one for the next due time.
      const wake = this.#running ? earliest(this.#due.at, hoardAt) : undefined
      if (wake !== undefined) this.#armWake(wake)
      return
    }
    const mark = this.#due.callStarts()
    let out
    this.#committing = settle
    this.#vitals.calling()
    try {
      out = await h.store.settleAndClaim({ now, settle, ...(claim ? { claim } : {}), ...(tick ? { tick } : {}) })
      this.#committing = []
      this.#storeFailures = 0
    } catch (err) {
      this.#vitals.called({ failed: true, ...(alive ? { alive } : {}) })
      if (this.#giveUp === 'given-up') {
        this.#committing = []
        return
      }
      if (err instanceof SerializationError && settle.length > 0) {
        // One result the store cannot hold must not hold up the others: settle each alone.
        const retry = await this.#isolate(settle, now)
        this.#committing = []
        this.#settlements.unshift(...retry)
        this.#again = true
        return
      }
      h.reportError(err)
      this.#committing = []
      this.#settlements.unshift(...settle)
      if (this.#giveUp === 'on-failure' && !this.#running) return this.#abandon()
      const delay = RETRY_STORE_MS[Math.min(this.#storeFailures++, RETRY_STORE_MS.length - 1)] as number
      this.#armWake(h.clock.now() + delay)
      return
    }
    this.#ahead.called(h.clock.now() - now)
    this.#vitals.called({ claimed: out.claimed, events: out.events, ...(alive ? { alive } : {}), ...(claim ? { limit: claim.limit } : {}) })
    h.emitCommitted(out.events)
    if (out.lost.length > 0) h.emit(out.lost.map((jobId): QueueEvent => ({ kind: 'lease:lost', at: now, jobId })))
    const token = claim?.token ?? ''
    for (const job of out.claimed) {
      if (this.#runnable(job)) {
        this.#ahead.add(job, token)
        this.#armRenew()
      }
      // Claimed while stop was under way or its queue was paused: back to the queue at once,
      // the attempt not spent.
      else this.#release({ job, token })
    }
    if (this.#ahead.size > 0) this.#startAhead()
    this.#due.learn(mark, tick !== undefined, out.nextWakeAt, out.events)
    const full = claim !== undefined && out.claimed.length === claim.limit
    if (full) this.#again = true
    this.#quiet = this.#running && out.claimed.length === 0 && this.#attempts.size === 0 && this.#ahead.size === 0 && this.#settlements.length === 0
    // The earliest given-up handler frees its job then: a claim must look again.
    let freed: number | undefined
    if (claim && !full) for (const until of this.#hung.values()) freed = earliest(freed, until)
    const stalls = this.#ahead.size > 0 ? this.#lastStartAt + HOARD_MS : undefined
    const wake = earliest(claim && !full ? out.nextWakeAt : undefined, this.#due.at, freed, this.#vitals.retryAt, stalls)
    if (wake !== undefined) this.#armWake(wake)
    else if ((claim && !full) || tick) this.#clearWake()
    if (this.#settlements.length > 0) this.#again = true
    if (!this.#running) this.#clearWake()
  }

  /** Whether a job claimed for this engine may start now. */
  #runnable(job: StoredJob): boolean {
    return this.#running && !this.#h.paused.has(job.queue) && this.#h.handlers.has(job.type) && this.#gate.allows(job.type)
  }

  /**
   * Jobs claimed ahead that may not start now go back: all of them when no job started for
   * HOARD_MS (every slot held by a slow attempt), else those whose queue was paused or whose
   * type cannot be claimed now, and those that would wait long (see `surplus`). Free slots take the next ones.
   */
  #sweep(): void {
    const stalled = this.#attempts.size >= this.#h.concurrency && this.#h.clock.now() - this.#lastStartAt >= HOARD_MS
    this.#releaseAhead(stalled ? undefined : (j) => !this.#runnable(j))
    for (const e of this.#ahead.surplus(this.#h.concurrency)) this.#release(e)
    this.#startAhead()
  }

  /** Starts jobs claimed ahead while slots are free. */
  #startAhead(): void {
    while (this.#attempts.size < this.#h.concurrency && this.#running && this.#vitals.proven) {
      const e = this.#ahead.next()
      if (!e) return
      if (this.#runnable(e.job)) this.#run(e.job, e.token)
      else this.#release(e)
    }
  }

  /** Jobs claimed ahead go back to the queue at once, the attempt not spent (all, or those `out` names). */
  #releaseAhead(out?: (job: StoredJob) => boolean): void {
    const gone = this.#ahead.release(out)
    for (const e of gone) this.#release(e)
    if (gone.length > 0) this.#kick()
  }

  #release(e: Ahead): void {
    this.#settlements.push({ id: e.job.id, token: e.token, outcome: { kind: 'deferred', runAt: this.#h.clock.now() } })
  }

  /** The jobs whose handlers run here, which a claim must not hand back to this engine. */
  #runningIds(): { running?: string[] } {
    if (this.#attempts.size === 0 && this.#hung.size === 0) return {}
    const ids = [...this.#attempts.keys()]
    for (const a of this.#hung.keys()) if (!this.#attempts.has(a.job.id)) ids.push(a.job.id)
    return { running: ids }
  }

  /** Settles one by one; a settlement whose result cannot be stored fails its job instead. */
  async #isolate(settle: Settlement[], now: number): Promise<Settlement[]> {
    const retry: Settlement[] = []
    for (const s of settle) {
      try {
        const out = await this.#h.store.settleAndClaim({ now, settle: [s] })
        this.#h.emitCommitted(out.events)
      } catch (err) {
        if (!(err instanceof SerializationError)) {
          retry.push(s)
          continue
        }
        retry.push({ ...s, outcome: { kind: 'failed', error: serializeError(err), unrecoverable: true } })
      }
    }
    return retry
  }

  #armWake(at: number): void {
    if (this.#wake && this.#wake.at <= at) return
    this.#clearWake()
    const delay = Math.min(Math.max(0, at - this.#h.clock.now()), MAX_TIMER_MS)
    const handle = this.#h.clock.setTimeout(() => {
      this.#wake = undefined
      this.#kick()
    }, delay)
    this.#wake = { at, handle }
  }

  #clearWake(): void {
    if (this.#wake) this.#h.clock.clearTimeout(this.#wake.handle)
    this.#wake = undefined
  }

  #run(job: StoredJob, token: string): void {
    const h = this.#h
    const a: Attempt = { job, token, startedAt: h.clock.now(), cancelled: false }
    this.#lastStartAt = a.startedAt
    this.#gate.begins(a)
    this.#attempts.set(job.id, a)
    this.#armRenew()
    if (job.timeoutMs !== undefined) {
      const ms = job.timeoutMs
      a.timer = h.clock.setTimeout(() => {
        const err = new JobTimeoutError(`job ${job.id} timed out after ${ms} ms`)
        abort(a, err)
        this.#finish(a, { kind: 'failed', error: serializeError(err) })
      }, ms)
    }
    void runHandler(this.#h, a).then(
      // A cancelled job ends cancelled even when its handler ignores the signal and returns.
      (result) => this.#returned(a, () => (a.cancelled ? { kind: 'cancelled' } : { kind: 'succeeded', ...(result === undefined ? {} : { result }) })),
      (err: unknown) => this.#returned(a, () => outcomeOf(a, err, this.#h.clock.now())),
    )
  }

  /**
   * The handler returned or threw. Whatever the thrown value, the attempt ends here: working
   * out its outcome cannot throw past this point.
   */
  #returned(a: Attempt, outcome: () => AttemptOutcome): void {
    let o: AttemptOutcome
    try {
      o = outcome()
    } catch {
      o = { kind: 'failed', error: { name: 'Error', message: 'the handler threw a value that could not be read' } }
    }
    a.returned = true
    if (this.#attempts.get(a.job.id) === a) this.#finish(a, o)
    // Ended earlier (timeout, lost lease, stop): the job may now be claimed here again.
    else if (this.#hung.delete(a)) this.#kick()
  }

  /** The attempt is over: its slot frees and its outcome goes to the next turn. Once only. */
  #finish(a: Attempt, outcome: AttemptOutcome | null): void {
    if (this.#attempts.get(a.job.id) !== a) return
    this.#attempts.delete(a.job.id)
    const now = this.#h.clock.now()
    if (!a.returned) this.#hung.set(a, now + this.#h.leaseMs)
    this.#progress++
    if (a.timer !== undefined) this.#h.clock.clearTimeout(a.timer)
    if (outcome) {
      this.#ahead.attempted(now - a.startedAt)
      this.#settlements.push({ id: a.job.id, token: a.token, outcome: this.#gate.outcome(a, outcome), random: Math.random() })
    }
    // The slot takes the next job claimed ahead at once: no store call between.
    if (this.#ahead.size > 0) this.#startAhead()
    if (!this.#holdsLeases()) this.#clearRenew()
    this.#kick()
  }

  /** A type was registered again (its network mode may have changed) or a queue resumed. */
  scopeChanged(type?: string): void {
    if (type !== undefined) {
      this.#gate.registered(type)
      this.#releaseAhead((j) => !this.#runnable(j))
    }
    // Jobs of dead engines that earlier claims could not take (not their type, no room) are taken now.
    this.#vitals.askNext()
    if (this.#running) this.#kick()
  }

  /** Attempts run, or outcomes wait for their commit: their leases must be kept. */
  #holdsLeases(): boolean {
    return this.#attempts.size > 0 || this.#ahead.size > 0 || this.#settlements.length > 0 || this.#committing.length > 0
  }

  #clearRenew(): void {
    this.#h.clock.clearTimeout(this.#renewHandle)
    this.#renewHandle = undefined
  }

  #armRenew(): void {
    if (this.#renewHandle !== undefined) return
    const every = Math.max(1, Math.floor(this.#h.leaseMs / 3))
    const handle = this.#h.clock.setTimeout(() => {
      void this.#renew().finally(() => {
        // Cleared or replaced while renewing: the current timer is someone else's.
        if (this.#renewHandle !== handle) return
        this.#renewHandle = undefined
        if (this.#holdsLeases()) this.#armRenew()
      })
    }, every)
    this.#renewHandle = handle
  }

  async #renew(): Promise<void> {
    const h = this.#h
    const attempts = [...this.#attempts.values()]
    const leases = new Map<string, string>()
    for (const s of [...this.#committing, ...this.#settlements]) leases.set(s.id, s.token)
    for (const a of attempts) leases.set(a.job.id, a.token)
    for (const e of this.#ahead.entries()) leases.set(e.job.id, e.token)
    if (leases.size === 0) return
    const now = h.clock.now()
    let out
    try {
      out = await h.store.renew({ now, until: now + h.leaseMs, leases: [...leases].map(([id, token]) => ({ id, token })) })
    } catch (err) {
      h.reportError(err)
      return
    }
    const held = new Set(out.held)
    for (const a of attempts) {
      if (held.has(a.job.id)) continue
      abort(a, new LeaseLostError(`job ${a.job.id} is no longer leased to this engine`))
      if (this.#attempts.get(a.job.id) === a) h.emit([{ kind: 'lease:lost', at: now, jobId: a.job.id }])
      this.#finish(a, null)
    }
    const gone = this.#ahead.release((j) => !held.has(j.id))
    if (gone.length > 0) h.emit(gone.map((e): QueueEvent => ({ kind: 'lease:lost', at: now, jobId: e.job.id })))
    for (const id of out.cancelRequested) this.cancelled(id)
  }
}

