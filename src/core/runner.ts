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
 * Claim-ahead: once attempts prove fast, a claim leases more jobs than there are free slots
 * (`ClaimRequest.ahead`); the extra ones wait in a bounded buffer, leased and renewed like
 * running ones but not started in the store, and start the moment a slot frees, without a store
 * call. The next turn tells the store of those starts (it counts their attempts then), settles
 * the attempts that ended meanwhile and refills the buffer (see `claim-ahead.ts`: how many, and
 * when they go back). A start the store did not take aborts its handler.
 *
 * Retention: with `retention`, a call the loop makes anyway also deletes a bounded slice of the
 * finished jobs retention no longer keeps (`SettleAndClaimInput.retain`): once after start, then
 * when jobs finished since the last slice (this engine's settlements, or finishes it heard of).
 * While ready jobs keep every claim full, a slice goes with every `RETAIN_EVERY` jobs settled
 * rather than with every call (a slice reads an index even when it deletes nothing). A slice
 * deletes only jobs finished before its call, so once the queue runs dry (a claim finds fewer
 * ready jobs than it asked for, and nothing runs), one more call carries one, dated after the
 * last settlements: a queue that runs dry ends with exactly what retention keeps. A slice
 * carries the engine's queues: other queues' jobs are theirs to keep. A slice that stopped at
 * its limit is followed by the next at once, turn after turn, until the backlog is gone, each
 * turn short. Retention
 * keeps no timer: an idle engine stays idle, and an age limit passed meanwhile is applied with
 * the next work. A store call that fails with `StorageFullError` is retried, after the usual
 * backoff, behind a call that carries only a slice: a full store (an IndexedDB origin at its
 * quota) refuses the writes of settlements and claims, not deletions, and the slice makes room.
 *
 * Lost replies: a store call that fails may have committed all the same (the reply lost, a
 * connection dropped at commit). Its settlements are sent again (the store answers `lost` for
 * those it took). A claim in it may have leased jobs this engine never heard of: the next turn
 * looks them up by the claim's token and runs them, or sends them back, as if the reply had come,
 * rather than leave them to wait out their lease and be claimed again with an attempt spent.
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
import type { Retention } from './retention.js'
import { nanoid } from 'nanoid'
import { abort, settleEachAlone, startAttempt, type Attempt, type AttemptHost } from './attempt.js'
import { ClaimAhead } from './claim-ahead.js'
import { settlesWithin } from './clock.js'
import type { NetworkMode } from './connectivity.js'
import { DueTimes, WakeTimer, earliest } from './due-times.js'
import { JobCancelledError, LeaseLostError, QueueClosedError, SerializationError, StorageError, StorageFullError } from './errors.js'
import { NetworkGate } from './network-gate.js'
import { Renewal } from './renewal.js'
import { Slice } from './slice.js'
import type { AttemptOutcome, ClaimOrder, ClaimRequest, RenewOutcome, SettleAndClaimInput, Settlement, StoredJob } from './store.js'
import type { QueueEvent } from './types.js'
import { Vitals } from './vitals.js'

export interface RunnerHost extends AttemptHost {
  queues: readonly string[]
  concurrency: number
  leaseMs: number
  /** What to keep of finished jobs; undefined keeps everything. */
  retention?: Retention | undefined
  paused: ReadonlySet<string>
  /** Each registered type's network mode. */
  network: ReadonlyMap<string, NetworkMode>
  online(): boolean
  emit(events: QueueEvent[]): void
  reportError(error: unknown): void
  /** Which ready job a claim takes first. @default 'priority' */
  order?: ClaimOrder
  /**
   * The engine's `version`, written as `processedBy` on the jobs it starts: by each claim, and
   * by the start of each job claimed ahead.
   */
  version?: string
}

const RETRY_STORE_MS = [100, 500, 2000, 5000]

/** Finished jobs one slice of retention deletes at most. */
export const RETAIN_LIMIT = 100

/** While claims come back full, a slice of retention goes with every this many settled jobs. */
export const RETAIN_EVERY = 50

/** Events of a job finishing: retention has something new to look at. */
const FINISHES: ReadonlySet<QueueEvent['kind']> = new Set(['job:succeeded', 'job:failed', 'job:cancelled', 'job:skipped'])

type Started = NonNullable<SettleAndClaimInput['started']>[number]

/** A claim whose call failed: it may have committed, leasing jobs that this engine never heard of. */
interface UnknownClaim {
  token: string
  queues: string[]
  types: string[]
}

/** Active jobs read per page when looking for the jobs of claims whose reply was lost. */
const RECOVER_PAGE = 100


export class Runner {
  readonly #h: RunnerHost
  /** The order and version every claim of this engine carries. */
  readonly #claimsAs: Pick<ClaimRequest, 'order' | 'version'>
  readonly #attempts = new Map<string, Attempt>()
  /**
   * Attempts that ended (timed out, lease lost, released by stop) while their handler goes on,
   * with the time until which claims leave their job alone: one lease after the attempt ended.
   */
  readonly #hung = new Map<Attempt, number>()
  #settlements: Settlement[] = []
  /** Settlements in the store call in flight. */
  #committing: Settlement[] = []
  /** Jobs claimed ahead whose handlers started since the last turn: the store counts their attempts. */
  #started: Started[] = []
  /** Handlers started, from the buffer or not: lets a test kit tell new attempts from old. */
  #starts = 0
  #running = false
  #busy = false
  #again = false
  #kicked = false
  readonly #wake: WakeTimer
  readonly #due = new DueTimes()
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
  readonly #ahead: ClaimAhead
  /** Claims whose store call failed: their jobs, if they committed, are found and taken by the next turn. */
  #unknown: UnknownClaim[] = []
  /** The engine's queues, when none is paused. */
  readonly #allQueues: string[]
  readonly #renewal: Renewal
  /** None ran since start, or others finished jobs since the last slice of retention. */
  #retainDue = true
  /** Attempts this engine settled (not deferred) since the last slice. */
  #settledSince = 0
  /** The last slice stopped at its limit: the next turn makes a call for the next one. */
  #retainMore = false
  /** The last claim came back full: ready jobs wait, and slices go every `RETAIN_EVERY` settlements. */
  #backlog = false
  /** When the last call that settled attempts was made: a slice deletes only jobs finished before its call. */
  #settledAt: number | undefined
  /** When the last slice of retention was made. */
  #slicedAt: number | undefined
  /** The last store call failed with the store full: the next turn first lets retention make room. */
  #makeRoom = false

  constructor(host: RunnerHost) {
    this.#h = host
    this.#claimsAs = { ...(host.order ? { order: host.order } : {}), ...(host.version !== undefined ? { version: host.version } : {}) }
    this.#allQueues = [...host.queues]
    this.#wake = new WakeTimer(host.clock, () => this.#kick())
    this.#gate = new NetworkGate(host)
    this.#ahead = new ClaimAhead({
      concurrency: host.concurrency,
      order: host.order ?? 'priority',
      clock: host.clock,
      busy: () => this.#attempts.size,
      starting: () => this.#running && this.#vitals.proven,
      runnable: (job) => this.#runnable(job),
      leased: (e) => e.until > host.clock.now(),
      start: (e) => this.#run(e.job, e.token),
      goBack: (e) => this.#goBack(e.job, e.token),
    })
    this.#renewal = new Renewal({
      store: host.store,
      clock: host.clock,
      leaseMs: host.leaseMs,
      holds: () => this.#holdsLeases(),
      leases: () => this.#leases(),
      renewed: (asked, out, now) => this.#renewed(asked, out, now),
      reportError: (err) => host.reportError(err),
    })
    this.#vitals = new Vitals({
      liveness: host.store.liveness,
      clock: host.clock,
      retryMs: RETRY_STORE_MS,
      running: () => this.#running,
      runs: (id) => this.#attempts.has(id) || this.#ahead.has(id),
      kick: () => this.#kick(),
      wakeAt: (at) => this.#wake.arm(at),
      reportError: (err) => host.reportError(err),
      lost: (err) => this.#proofLost(err),
    })
  }

  get running(): boolean {
    return this.#running
  }

  /** What the loop is doing now, for test kits that wait for it to go quiet. */
  activity(): { busy: boolean; settling: number; running: number; progress: number; starts: number } {
    const running = this.#attempts.size + this.#ahead.size
    return { busy: this.#busy || this.#kicked, settling: this.#settlements.length + this.#started.length, running, progress: this.#progress, starts: this.#starts }
  }

  start(): void {
    this.#running = true
    this.#retainDue = true
    this.#backlog = false
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
    this.#wake.clear()
    this.#ahead.release()
    // Jobs that a claim whose reply was lost may have leased go back before the engine stops.
    if (this.#unknown.length > 0) this.#kick()
    if (!(await this.#drainsWithin(timeoutMs))) {
      if (this.#running) return // started again meanwhile: its attempts go on
      const now = this.#h.clock.now()
      for (const a of [...this.#attempts.values()]) {
        abort(a, new QueueClosedError('the queue stopped before this attempt finished'))
        this.#finish(a, { kind: 'deferred', runAt: now })
      }
      this.#giveUp = 'on-failure'
      // Retry now rather than after the backoff of earlier failures.
      this.#wake.clear()
      this.#kick()
      if (!(await this.#drainsWithin(timeoutMs)) && !this.#running) this.#abandon()
    }
    if (this.#running) return
    this.#renewal.clear()
    this.#wake.clear()
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
    this.#started = []
    this.#unknown = []
    this.#wake.clear()
    this.#renewal.clear()
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
    if (!this.#retainDue && this.#h.retention && events.some((e) => FINISHES.has(e.kind))) this.#retainDue = true
    for (const e of events) {
      // Cancelled in the store already (its lease was taken over): it never starts here.
      if (e.kind === 'job:cancelled' && this.#ahead.has(e.jobId)) this.#ahead.take(e.jobId)
      // A batch or chain that ended asked its members claimed ahead to stop: those still here are dropped.
      else if (e.kind === 'batch:failed' || e.kind === 'batch:cancelled') this.#dropMembers((j) => j.batchId === e.batchId)
      else if (e.kind === 'chain:failed' || e.kind === 'chain:cancelled') this.#dropMembers((j) => j.chainId === e.chainId)
    }
  }

  #dropMembers(of: (job: StoredJob) => boolean): void {
    for (const e of this.#ahead.entries().filter((x) => of(x.job))) this.cancelled(e.job.id)
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
    this.#ahead.release()
    this.#kick()
  }

  /**
   * Aborts a running attempt whose job was cancelled; a buffered job never starts: one claimed
   * ahead was cancelled outright by the store, one whose attempt was counted is settled cancelled.
   */
  cancelled(id: string): void {
    const e = this.#ahead.take(id)
    if (e) {
      // Dropped before it started: the store ends it cancelled, its attempt not counted.
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
      this.#ahead.release((e) => !this.#runnable(e.job))
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
    return this.#attempts.size === 0 && this.#ahead.size === 0 && this.#settlements.length === 0 && this.#started.length === 0 && this.#unknown.length === 0 && !this.#busy
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
      if (!this.#holdsLeases()) this.#renewal.clear()
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
    if (this.#unknown.length > 0) await this.#recover()
    if (this.#makeRoom && !(await this.#freeRoom())) return
    this.#ahead.sweep()
    const free = this.#running && proven ? h.concurrency - this.#attempts.size : 0
    const queues = h.paused.size === 0 ? this.#allQueues : h.queues.filter((q) => !h.paused.has(q))
    const types = this.#gate.claimable(h.handlers)
    let now = h.clock.now()
    // A refill alone waits until half the buffer is gone; with a call made anyway it is free.
    const calling = free > 0 || this.#settlements.length > 0 || this.#started.length > 0 || (this.#running && this.#due.needsTick(now))
    const ahead = this.#running && proven ? this.#ahead.wanted(calling) : 0
    const claiming = free + ahead > 0 && queues.length > 0 && types.length > 0
    const alive = claiming && this.#vitals.asking ? await this.#vitals.alive() : undefined
    const settle = this.#settlements
    this.#settlements = []
    const started = this.#started
    this.#started = []
    now = h.clock.now()
    // The call after the queue ran dry: later than the settlements it comes to clean up after.
    // So is each slice that goes on after it.
    if (h.retention && this.#running && settle.length === 0 && this.#settledAt !== undefined && (this.#retainMore || (!this.#backlog && this.#tailDue()))) {
      now = Math.max(now, this.#settledAt + 1)
    }
    // A handler still going one lease after its attempt ended is given up on: its job may run here again.
    for (const [a, until] of this.#hung) if (until <= now) this.#hung.delete(a)
    const claim: ClaimRequest | undefined = claiming
      ? { owner: this.#vitals.owner, token: nanoid(), queues, types, limit: free, ...(ahead > 0 ? { ahead } : {}), leaseUntil: now + h.leaseMs, ...this.#claimsAs, ...this.#runningIds(), ...(alive ? { alive } : {}) }
      : undefined
    const tick = this.#running && this.#due.needsTick(now) ? { queues: [...h.queues] } : undefined
    // Settlements may finish jobs: their slice runs in the same transaction, after them.
    for (const x of settle) if (x.outcome.kind !== 'deferred') this.#settledSince++
    const retain = this.#running && h.retention && this.#slicing() ? { keep: h.retention, queues: [...h.queues], limit: RETAIN_LIMIT } : undefined
    this.#quiet = false
    if (settle.length === 0 && started.length === 0 && !claim && !tick && !(retain && (this.#retainMore || this.#tailDue()))) {
      this.#quiet = this.#running && this.#attempts.size === 0 && this.#ahead.size === 0
      // The timer may have gone off for something earlier (a lease end): keep one for the next due time.
      const wake = this.#running ? earliest(this.#due.at, this.#ahead.stallsAt) : undefined
      if (wake !== undefined) this.#wake.arm(wake)
      return
    }
    const mark = this.#due.callStarts()
    let out
    this.#committing = settle
    this.#vitals.calling()
    try {
      out = await h.store.settleAndClaim({
        now,
        ...(started.length > 0 ? { started } : {}),
        settle,
        ...(claim ? { claim } : {}),
        ...(tick ? { tick } : {}),
        ...(retain ? { retain } : {}),
      })
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
        const retry = await settleEachAlone(h, settle, started, now)
        this.#committing = []
        this.#settlements.unshift(...retry.settle)
        this.#started.unshift(...retry.started)
        this.#again = true
        return
      }
      h.reportError(err)
      if (err instanceof StorageFullError && h.retention) this.#makeRoom = true
      // The call may have committed all the same (its reply lost): the next turn looks for its jobs.
      if (claim) this.#unknown.push({ token: claim.token, queues: claim.queues, types: claim.types })
      this.#committing = []
      this.#settlements.unshift(...settle)
      this.#started.unshift(...started)
      if (this.#giveUp === 'on-failure' && !this.#running) return this.#abandon()
      const delay = RETRY_STORE_MS[Math.min(this.#storeFailures++, RETRY_STORE_MS.length - 1)] as number
      this.#wake.arm(h.clock.now() + delay)
      return
    }
    this.#ahead.called(h.clock.now() - now)
    this.#vitals.called({ claimed: out.claimed, events: out.events, ...(alive ? { alive } : {}), ...(claim ? { limit: claim.limit } : {}) })
    h.emitCommitted(out.events)
    // After the events: the jobs they tell of finishing were before the slice, which saw them.
    if (settle.some((x) => x.outcome.kind !== 'deferred')) this.#settledAt = now
    if (retain) {
      this.#slicedAt = now
      this.#retainDue = false
      this.#settledSince = 0
      this.#retainMore = out.retained?.more ?? false
      if (this.#retainMore) this.#again = true
    }
    if (out.lost.length > 0) {
      h.emit(out.lost.map((jobId): QueueEvent => ({ kind: 'lease:lost', at: now, jobId })))
      this.#startsLost(started, out.lost)
    }
    // Cancelled while claimed ahead, and started here meanwhile: the handler is told to stop.
    for (const id of out.cancelRequested ?? []) this.cancelled(id)
    const token = claim?.token ?? ''
    for (const job of out.claimed) {
      if (this.#runnable(job)) {
        this.#ahead.add(job, token, claim?.leaseUntil ?? now)
        this.#renewal.arm()
      }
      // Claimed while stop was under way or its queue was paused: back to the queue at once,
      // the attempt not spent.
      else this.#goBack(job, token)
    }
    this.#ahead.fill()
    this.#due.learn(mark, tick !== undefined, out.nextWakeAt, out.events)
    const full = claim !== undefined && out.claimed.length === claim.limit + (claim.ahead ?? 0)
    if (full) this.#again = true
    if (claim) this.#backlog = full
    // A claim told to come back at once (it failed damaged jobs in place of claiming others) is not the end of a drain.
    const back = claim !== undefined && out.nextWakeAt !== undefined && out.nextWakeAt <= now
    this.#quiet = this.#running && !back && out.claimed.length === 0 && this.#attempts.size === 0 && this.#ahead.size === 0 && this.#settlements.length === 0
    // The earliest given-up handler frees its job then: a claim must look again.
    let freed: number | undefined
    if (claim && !full) for (const until of this.#hung.values()) freed = earliest(freed, until)
    const wake = earliest(claim && !full ? out.nextWakeAt : undefined, this.#due.at, freed, this.#vitals.retryAt, this.#ahead.stallsAt)
    if (wake !== undefined) this.#wake.arm(wake)
    else if ((claim && !full) || tick) this.#wake.clear()
    if (this.#settlements.length > 0 || this.#started.length > 0) this.#again = true
    else if (h.retention && this.#running && !this.#backlog && this.#attempts.size === 0 && this.#ahead.size === 0) this.#tail()
    if (!this.#running) this.#wake.clear()
  }

  /**
   * The store was full: a call that only deletes, a slice of retention, goes before the
   * settlements and the claim, since a full store refuses the writes they make while deletions
   * still go through (a full IndexedDB origin). Their call, in the same turn, then finds the room
   * the slice made. Returns false when this call failed too: the turn ends, and the next one,
   * after the usual backoff, tries again.
   */
  async #freeRoom(): Promise<boolean> {
    const h = this.#h
    const keep = h.retention
    this.#makeRoom = false
    if (!keep) return true
    const now = h.clock.now()
    try {
      const out = await h.store.settleAndClaim({ now, settle: [], retain: { keep, queues: [...h.queues], limit: RETAIN_LIMIT } })
      h.emitCommitted(out.events)
      this.#slicedAt = now
      this.#retainMore = out.retained?.more ?? false
      return true
    } catch (err) {
      if (this.#giveUp === 'given-up') return false
      h.reportError(err)
      if (err instanceof StorageFullError) this.#makeRoom = true
      if (this.#giveUp === 'on-failure' && !this.#running) {
        this.#abandon()
        return false
      }
      const delay = RETRY_STORE_MS[Math.min(this.#storeFailures++, RETRY_STORE_MS.length - 1)] as number
      this.#wake.arm(h.clock.now() + delay)
      return false
    }
  }

  /**
   * The queue ran dry: jobs settled since the last slice, or by the call that made it (a slice
   * deletes only jobs finished before its call), are brought to what retention keeps by one more
   * call at once, dated at least a millisecond after them. After it, nothing: no timer, and an
   * idle engine stays idle.
   */
  #tail(): void {
    if (this.#tailDue()) this.#again = true
  }

  /** Whether jobs were settled since the last slice, or by the call that made it. */
  #tailDue(): boolean {
    const at = this.#settledAt
    return at !== undefined && (this.#slicedAt === undefined || this.#slicedAt <= at)
  }

  /** Whether the call this turn makes carries a slice of retention. */
  #slicing(): boolean {
    if (this.#retainMore || this.#settledSince >= RETAIN_EVERY) return true
    if (!this.#backlog && this.#tailDue()) return true
    return (this.#retainDue || this.#settledSince > 0) && !this.#backlog
  }

  /**
   * Takes the jobs that claims whose call failed leased all the same: the failure may have come
   * after the commit (a reply lost, a connection dropped), and such jobs would otherwise wait out
   * their lease, active and leased to an engine that does not know them, and then be claimed
   * again as stalled with a second attempt spent, their handler never run (a job without retries
   * would fail `LEASE_LOST` unrun). They are found by their lease's token among the active jobs
   * of the claim's scope and handled as if the reply had come: started, buffered, or sent back
   * when they cannot start here (their lease ran out meanwhile, the engine stopped). A read that
   * fails is tried again by the next turn; the lease's end stays the fallback.
   */
  async #recover(): Promise<void> {
    const unknown = this.#unknown
    const tokens = new Set(unknown.map((u) => u.token))
    const filter = { state: 'active' as const, queue: [...new Set(unknown.flatMap((u) => u.queues))], type: [...new Set(unknown.flatMap((u) => u.types))] }
    const found: StoredJob[] = []
    try {
      for (let offset = 0; ; offset += RECOVER_PAGE) {
        const page = await this.#h.store.listJobs({ ...filter, limit: RECOVER_PAGE, offset }, this.#h.clock.now())
        for (const job of page) if (job.lease && tokens.has(job.lease.token)) found.push(job)
        if (page.length < RECOVER_PAGE) break
      }
    } catch (err) {
      this.#h.reportError(err)
      return
    }
    // Claims that failed while this read was under way are looked for by the next turn.
    this.#unknown = this.#unknown.filter((u) => !tokens.has(u.token))
    for (const job of found) {
      const lease = job.lease as NonNullable<StoredJob['lease']>
      if (this.#attempts.has(job.id) || this.#ahead.has(job.id)) continue
      if (this.#runnable(job)) {
        this.#ahead.add(job, lease.token, lease.until)
        this.#renewal.arm()
      } else this.#goBack(job, lease.token)
    }
    if (found.length > 0) this.#ahead.fill()
  }

  /** Starts the store did not take: the job was cancelled or taken over, its handler must stop. */
  #startsLost(started: Started[], lost: string[]): void {
    if (started.length === 0) return
    const gone = new Set(lost)
    for (const st of started) {
      const a = this.#attempts.get(st.id)
      if (!gone.has(st.id) || a?.token !== st.token) continue
      abort(a, new LeaseLostError(`job ${st.id} is no longer leased to this engine`))
      this.#finish(a, null)
    }
  }

  /** Whether a job claimed for this engine may start now. */
  #runnable(job: StoredJob): boolean {
    return this.#running && !this.#h.paused.has(job.queue) && this.#h.handlers.has(job.type) && this.#gate.allows(job.type)
  }

  /** The job goes back to the queue at once, the attempt not spent, in its place in claim order. */
  #goBack(job: StoredJob, token: string): void {
    this.#settlements.push({ id: job.id, token, outcome: { kind: 'deferred', runAt: Math.min(job.runAt, this.#h.clock.now()) } })
    this.#kick()
  }

  /** The jobs whose handlers run here, which a claim must not hand back to this engine. */
  #runningIds(): { running?: string[] } {
    if (this.#attempts.size === 0 && this.#hung.size === 0) return {}
    const ids = [...this.#attempts.keys()]
    for (const a of this.#hung.keys()) if (!this.#attempts.has(a.job.id)) ids.push(a.job.id)
    return { running: ids }
  }

  #run(claimed: StoredJob, token: string): void {
    const h = this.#h
    const now = h.clock.now()
    let job = claimed
    if (claimed.ahead) {
      // Claimed ahead: the store counts this attempt, and writes this engine's version as the
      // job's processedBy, when the next turn tells it of the start.
      const { ahead: _, ...rest } = claimed
      const version = this.#claimsAs.version
      job = { ...rest, attempt: claimed.attempt + 1, startedAt: now, ...(version === undefined ? {} : { processedBy: version }) }
      this.#started.push({ id: job.id, token, at: now, ...(version === undefined ? {} : { version }) })
      this.#kick()
    }
    this.#starts++
    const a: Attempt = { job, token, startedAt: now, cancelled: false }
    this.#ahead.started(a.startedAt)
    this.#gate.begins(a)
    this.#attempts.set(job.id, a)
    this.#renewal.arm()
    startAttempt(h, a, (outcome) => {
      if (this.#attempts.get(a.job.id) === a) this.#finish(a, outcome)
      // Ended earlier (timeout, lost lease, stop) and its handler returned now: the job may be claimed here again.
      else if (a.returned && this.#hung.delete(a)) this.#kick()
    })
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
    this.#ahead.fill()
    if (!this.#holdsLeases()) this.#renewal.clear()
    this.#kick()
  }

  /** A queue was paused: its jobs claimed ahead go back at once. */
  paused(): void {
    this.#ahead.release((e) => !this.#runnable(e.job))
  }

  /** A type was registered again (its network mode may have changed) or a queue resumed. */
  scopeChanged(type?: string): void {
    if (type !== undefined) {
      this.#gate.registered(type)
      this.#ahead.release((e) => !this.#runnable(e.job))
    }
    // Jobs of dead engines that earlier claims could not take (not their type, no room) are taken now.
    this.#vitals.askNext()
    if (this.#running) this.#kick()
  }

  /** Attempts run, or outcomes wait for their commit: their leases must be kept. */
  #holdsLeases(): boolean {
    return this.#attempts.size > 0 || this.#ahead.size > 0 || this.#settlements.length > 0 || this.#committing.length > 0 || this.#started.length > 0
  }

  /** The store renewed the leases `held` of those `asked`: the others are lost to this engine. */
  #renewed(asked: ReadonlyMap<string, string>, out: RenewOutcome, now: number): void {
    const held = new Set(out.held)
    const lost = (id: string, token: string): boolean => asked.get(id) === token && !held.has(id)
    for (const a of [...this.#attempts.values()]) {
      if (!lost(a.job.id, a.token)) continue
      abort(a, new LeaseLostError(`job ${a.job.id} is no longer leased to this engine`))
      this.#h.emit([{ kind: 'lease:lost', at: now, jobId: a.job.id }])
      this.#finish(a, null)
    }
    const gone = this.#ahead.drop((e) => lost(e.job.id, e.token))
    if (gone.length > 0) this.#h.emit(gone.map((e): QueueEvent => ({ kind: 'lease:lost', at: now, jobId: e.job.id })))
    this.#ahead.renewed((e) => asked.get(e.job.id) === e.token && held.has(e.job.id), now + this.#h.leaseMs)
    for (const id of out.cancelRequested) this.cancelled(id)
  }

  /** The leases this engine keeps: outcomes waiting for their commit, attempts, jobs claimed ahead. */
  #leases(): Map<string, string> {
    const leases = new Map<string, string>()
    for (const s of this.#committing) leases.set(s.id, s.token)
    for (const s of this.#settlements) leases.set(s.id, s.token)
    for (const a of this.#attempts.values()) leases.set(a.job.id, a.token)
    for (const e of this.#ahead.entries()) leases.set(e.job.id, e.token)
    return leases
  }
}
