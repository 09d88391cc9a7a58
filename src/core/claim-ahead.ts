/**
 * Claim-ahead: an engine leases more jobs than it has free slots and keeps the extra ones here,
 * so that when a slot frees the next job starts at once, without a store call. The settlement
 * of the attempt that ended goes to the next turn as always; while one turn's transaction is in
 * flight, several jobs finish and start, and the next turn settles them all and refills the
 * buffer. On durable storage throughput is transactions per second times jobs per transaction:
 * at concurrency 1 without a buffer every job costs one transaction and nothing runs during it.
 *
 * A buffered job is leased like a running one (same owner, token and lease as its claim), so
 * it is renewed with them and, if its engine dies, taken over at once by engines that see it
 * dead. But it is claimed ahead (`ClaimRequest.ahead`): flagged in the store as not started,
 * its attempt not counted and no `job:started` told. When its handler starts, the engine sends
 * the start with its next turn (`SettleAndClaimInput.started`): the store counts the attempt
 * and tells `job:started` then; a start that comes back lost (the job was cancelled or taken
 * over meanwhile) aborts the handler. Until then the job counts as not started everywhere: a
 * cancel, a batch cancelled or failing cancel it outright, and a dead engine's buffered jobs go
 * back to waiting without spending an attempt. It is no running attempt: it is not in a
 * claim's `running` list (if renewals failed and a claim of this engine takes it back, the
 * fresh lease replaces the buffered one and the job still starts once). A job whose lease is
 * not known held (renewals failed past the lease) is not started: it goes back.
 *
 * How many: the buffer is bounded and adaptive, so that priority order stays honest and slow
 * jobs are not hoarded away from other engines. From what the engine measures on its clock (the
 * mean duration of attempts `a` and of store calls `s`), the target is
 *
 *     min(cap, FILL × c × (s + a) / a, WAIT_MS × c / a)       (c = concurrency)
 *
 * - `c × (s + a) / a` is the number of jobs the slots finish during one store call, plus one
 *   per slot; FILL = 2 covers the call's jitter and the half of the buffer kept as low water.
 * - `WAIT_MS × c / a` keeps the expected wait of the last buffered job under WAIT_MS (20 ms):
 *   jobs of a few tens of ms or more are not claimed ahead at all.
 * - cap = max(4 × c, 64): a job dispatched at a higher priority than the buffered ones waits
 *   behind at most that many (no more than a few ms of fast attempts).
 * - 0 until WARMUP attempts were measured: an engine does not hoard before it knows.
 *
 * The mean of attempts rises fast (half the distance to a slower sample) and falls slowly (an
 * eighth): slowness is believed at once, speed only once it lasts. An attempt measured at 0 ms
 * (a test's manual clock; sub-millisecond handlers on a millisecond clock) counts as fast: the
 * target is then the cap. The buffer is refilled when it is down to half its target, or on any
 * store call the turn makes anyway (to settle, tick or fill free slots): a refill alone is never
 * a transaction of its own while half the buffer is left. Jobs that would wait more than twice
 * WAIT_MS (attempts turned slow) go back at the next turn, and a buffer that has not moved for
 * HOARD_MS (no job started: every slot is held by a slow attempt) goes back whole and is not
 * refilled until a slot frees: other engines may run those jobs meanwhile.
 *
 * Buffered jobs go back at once (a `deferred` settlement: the store puts a job claimed ahead
 * back to waiting with its own runAt, so it keeps its place in claim order, and its attempt
 * unchanged) on stop, when their queue is paused or their type can no longer be claimed
 * (offline; the handler gone), when the buffer stalls as above, and when their lease is not
 * known held. The engine hears of going offline and of a type registered again at once; of a
 * pause when the queue tells it (`Runner.paused`), else at its next turn or start. A buffered
 * job that is cancelled (by this queue, or heard through the store's watch) is dropped: the
 * store cancelled it already.
 *
 * `job:started` is the store's event of the start: it is emitted after the commit that counted
 * the attempt (DESIGN §4: events tell committed state changes), within one turn of the handler
 * starting. A process that dies within that turn may leave that attempt uncounted.
 *
 * @module
 */
import type { ClaimOrder, StoredJob } from './store.js'
import type { Clock } from './types.js'

/** Attempts measured before any job is claimed ahead. */
const WARMUP = 8
/** The expected wait of the last buffered job before it starts, at most. */
const WAIT_MS = 20
/** Jobs claimed ahead per job that finishes during one store call. */
const FILL = 2
/** A buffer in which no job started for this long goes back to the store. */
const HOARD_MS = 50

export interface Ahead {
  job: StoredJob
  token: string
  /** Until when its lease is known held: the claim's, moved on by each renewal of it. */
  until: number
}

/** What the buffer needs of its engine. */
export interface ClaimAheadHost {
  concurrency: number
  /** The order of the engine's claims, kept among the buffered jobs. */
  order: ClaimOrder
  clock: Clock
  /** Slots taken by attempts now. */
  busy(): number
  /** The engine may start jobs: it runs and its proof of life holds. */
  starting(): boolean
  /** The job may start now: the engine runs, its queue is not paused, its type can be claimed. */
  runnable(job: StoredJob): boolean
  /** Its lease is still known held: a job whose lease may be another engine's must not start. */
  leased(e: Ahead): boolean
  start(e: Ahead): void
  /** Back to the queue at once, the attempt not spent (a `deferred` settlement, run now). */
  goBack(e: Ahead): void
}

export class ClaimAhead {
  readonly #h: ClaimAheadHost
  /** In claim order (`ClaimAheadHost.order`). */
  #queue: Ahead[] = []
  readonly #ids = new Set<string>()
  #attemptMs = 0
  #storeMs = 0
  #measured = 0
  /** When the last attempt started. */
  #lastStartAt = 0

  constructor(host: ClaimAheadHost) {
    this.#h = host
  }

  get size(): number {
    return this.#queue.length
  }

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  /** The buffered jobs, first to start first. */
  entries(): readonly Ahead[] {
    return this.#queue
  }

  /** Keeps a claimed job, in claim order; a fresh lease on a job kept already replaces it. */
  add(job: StoredJob, token: string, until: number): void {
    const q = this.#queue
    if (this.#ids.has(job.id)) this.take(job.id)
    this.#ids.add(job.id)
    let i = q.length
    const first = this.#h.order === 'runAt' ? beforeByRunAt : before
    while (i > 0 && first(job, (q[i - 1] as Ahead).job)) i--
    if (i === q.length) q.push({ job, token, until })
    else q.splice(i, 0, { job, token, until })
  }

  /** The store renewed these leases (job id to token) until `until`. */
  renewed(held: (e: Ahead) => boolean, until: number): void {
    for (const e of this.#queue) if (held(e)) e.until = Math.max(e.until, until)
  }

  /** The next job to start, taken out. */
  next(): Ahead | undefined {
    const e = this.#queue.shift()
    if (e) this.#ids.delete(e.job.id)
    return e
  }

  take(id: string): Ahead | undefined {
    if (!this.#ids.delete(id)) return undefined
    const at = this.#queue.findIndex((e) => e.job.id === id)
    return this.#queue.splice(at, 1)[0]
  }

  /** Jobs `out` names (all when not given) go back; returns how many. */
  release(out?: (e: Ahead) => boolean): number {
    if (this.#queue.length === 0 || (out && !this.#queue.some(out))) return 0
    const kept: Ahead[] = []
    const gone: Ahead[] = []
    for (const e of this.#queue) (!out || out(e) ? gone : kept).push(e)
    this.#queue = kept
    this.#goBack(gone)
    return gone.length
  }

  #goBack(gone: Ahead[]): void {
    for (const e of gone) {
      this.#ids.delete(e.job.id)
      this.#h.goBack(e)
    }
  }

  /** Takes out the jobs `out` names, which the engine no longer holds. */
  drop(out: (e: Ahead) => boolean): Ahead[] {
    const gone = this.#queue.filter(out)
    if (gone.length > 0) this.#queue = this.#queue.filter((e) => !out(e))
    for (const e of gone) this.#ids.delete(e.job.id)
    return gone
  }

  /** Starts jobs while slots are free; one that may not start now goes back. */
  fill(): void {
    const h = this.#h
    while (this.#queue.length > 0 && h.busy() < h.concurrency && h.starting()) {
      const e = this.next() as Ahead
      if (h.runnable(e.job) && h.leased(e)) h.start(e)
      else h.goBack(e)
    }
  }

  /** An attempt started, from the buffer or not. */
  started(at: number): void {
    this.#lastStartAt = at
  }

  /**
   * Each turn: all jobs go back when none started for HOARD_MS with every slot taken (held by
   * slow attempts); else those that may not start now (queue paused, type not claimable) and
   * those that would wait more than twice WAIT_MS (attempts turned slow: only then, so that a
   * target that wavers with the store's speed does not make jobs go back and be claimed again).
   * Free slots then take the next ones.
   */
  sweep(): void {
    const h = this.#h
    if (this.#queue.length === 0) return
    if (this.#stalled()) this.release()
    else this.release((e) => !h.runnable(e.job) || !h.leased(e))
    const keep = (2 * WAIT_MS * h.concurrency) / this.#attemptMs
    if (this.#queue.length > keep) this.#goBack(this.#queue.splice(Math.floor(keep)))
    this.fill()
  }

  /** Every slot is taken and no job started for HOARD_MS. */
  #stalled(): boolean {
    return this.#h.busy() >= this.#h.concurrency && this.#h.clock.now() - this.#lastStartAt >= HOARD_MS
  }

  /** When a turn must look whether the buffer stalled. */
  get stallsAt(): number | undefined {
    return this.#queue.length > 0 ? this.#lastStartAt + HOARD_MS : undefined
  }

  /** An attempt ended after `ms` on the engine's clock. */
  attempted(ms: number): void {
    const d = ms - this.#attemptMs
    this.#attemptMs = this.#measured++ === 0 ? ms : this.#attemptMs + (d > 0 ? d / 2 : d / 8)
  }

  /** A store call took `ms`. */
  called(ms: number): void {
    this.#storeMs += (ms - this.#storeMs) / 8
  }

  /** How many jobs to keep claimed ahead. */
  target(): number {
    const concurrency = this.#h.concurrency
    if (this.#measured < WARMUP) return 0
    const cap = Math.max(4 * concurrency, 64)
    const a = this.#attemptMs
    if (a <= 0) return cap
    return Math.min(cap, Math.ceil((FILL * concurrency * (this.#storeMs + a)) / a), Math.floor((WAIT_MS * concurrency) / a))
  }

  /**
   * How many more to claim: up to the target when the turn calls the store anyway (`calling`)
   * or half the buffer is gone; none otherwise, nor while the buffer is stalled.
   */
  wanted(calling: boolean): number {
    // Until a slot frees, jobs sent back from a stalled buffer are not claimed again.
    if (this.#stalled()) return 0
    const target = this.target()
    const size = this.#queue.length
    return size < target && (calling || size <= target / 2) ? target - size : 0
  }
}

/** Whether `a` comes before `b` in the `'priority'` claim order (see `ClaimRequest.order`). */
function before(a: StoredJob, b: StoredJob): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.runAt !== b.runAt ? a.runAt < b.runAt : a.seq < b.seq
}

/** Whether `a` comes before `b` in the `'runAt'` claim order. */
function beforeByRunAt(a: StoredJob, b: StoredJob): boolean {
  return a.runAt !== b.runAt ? a.runAt < b.runAt : a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq
}
