/**
 * `Live`: keeps a model current while the element is on the page. It listens to the queue's
 * events, counts throughput from them, follows chains and batches, and reads the counts, the
 * page of jobs, the paused queues and the groups that moved in one coalesced refresh: at most
 * one in flight, at most one per `REFRESH_MS` while events keep arriving, and one after the
 * last. Pause events change the pause state at once; a refresh sets it as read.
 *
 * The job whose details are open is read with each refresh but on its own: a `getJob` that
 * hangs or fails is said in the panel (which keeps the read before), not for the whole queue,
 * and holds nothing else up. At most one such read is in flight per element and queue, however
 * long it hangs; a refresh asked for meanwhile reads the job again once it answers.
 *
 * Some changes emit no event (a prune, a change made by another engine on a shared store): a
 * refresh also runs every `POLL_MS` while the page is visible. A read that has not answered
 * after `READ_TIMEOUT_MS` is given up: the element says so, the next refresh starts a new read,
 * and the late answer is dropped. The reads of one element from one queue wait for each other
 * across its `Live`s, so remounting it fast does not pile reads up on a queue; a queue switched
 * to is read at once, not behind a read of the previous one that hangs.
 *
 * Events may come from a worker or another tab: every field read of one is checked first.
 *
 * @module
 */
import type { Subscription } from 'rxjs'
import type { BatchState, Counts, JobRecord, QueueEvent } from '../core/types.js'
import { events$, online$, type NetworkAware } from '../observable/index.js'
import { Coalescer } from './coalesce.js'
import { PAGE_SIZE, STATES, clip, messageOf, type DashboardQueue, type Model } from './model.js'

/** The least time between two refreshes while events keep arriving. */
export const REFRESH_MS = 250

/** How often the counts and the page are read again when no event says they changed. */
export const POLL_MS = 5000

/** How long a read may take before it is given up. */
export const READ_TIMEOUT_MS = 10_000

/** How often the throughput chart moves on when nothing else changes. */
const TICK_MS = 1000

/** The read in flight per lane and queue (settled once it answered or was given up), across `Live`s. */
const inFlight = new WeakMap<object, WeakMap<object, Promise<unknown>>>()

/** The `getJob` of the open details in flight per lane and queue (settled only once it answered), across `Live`s. */
const detailInFlight = new WeakMap<object, WeakMap<object, Promise<unknown>>>()

function laneOf(reads: WeakMap<object, WeakMap<object, Promise<unknown>>>, lane: object): WeakMap<object, Promise<unknown>> {
  let mine = reads.get(lane)
  if (!mine) reads.set(lane, (mine = new WeakMap()))
  return mine
}

interface Snapshot {
  counts: Counts
  jobs: JobRecord[]
  paused: string[] | undefined
}

/** `getJob`'s answer as the model keeps it: `null` for a job the store does not have. */
const found = (j: unknown): JobRecord | null => (typeof j === 'object' && j !== null ? (j as JobRecord) : null)

const isString = (v: unknown): v is string => typeof v === 'string'

function isBatch(v: unknown, id: string): v is BatchState {
  const b = v as BatchState | null
  return typeof b === 'object' && b !== null && b.id === id && typeof b.total === 'number' && typeof b.createdAt === 'number'
}

export class Live {
  readonly #q: DashboardQueue
  readonly #lane: object
  readonly #model: Model
  readonly #changed: () => void
  readonly #refresh: Coalescer
  readonly #subs: Subscription[] = []
  readonly #timers: ReturnType<typeof setInterval>[]
  #closed = false
  /** Bumped per read: only the newest read may change the model. */
  #read = 0
  /** Waiting for a detail read in flight to end, to read the job again then. */
  #detailWaiting = false

  /** `lane`: reads of one queue by `Live`s with the same lane (the element) run one after the other. */
  constructor(q: DashboardQueue, model: Model, changed: () => void, lane: object = q) {
    this.#q = q
    this.#lane = lane
    this.#model = model
    this.#changed = changed
    this.#refresh = new Coalescer(() => this.#turn(), REFRESH_MS)
    this.#subs.push(events$(q).subscribe((e) => this.#onEvent(e)))
    if (typeof q.online === 'boolean') {
      this.#subs.push(
        online$(q as NetworkAware).subscribe((online) => {
          model.online = online
          changed()
        }),
      )
    }
    this.#timers = [
      globalThis.setInterval(changed, TICK_MS),
      globalThis.setInterval(() => {
        if (globalThis.document?.visibilityState !== 'hidden') this.#refresh.request()
      }, POLL_MS),
    ]
    this.#refresh.request()
  }

  /** Reads again soon (after a filter change or an action). */
  refresh(): void {
    this.#refresh.request()
  }

  close(): void {
    this.#closed = true
    this.#refresh.stop()
    for (const s of this.#subs) s.unsubscribe()
    for (const t of this.#timers) globalThis.clearInterval(t)
  }

  #onEvent(e: QueueEvent): void {
    if (typeof e !== 'object' || e === null || !isString(e.kind)) return
    const m = this.#model
    // Read as a loose record: the event may not be what its type says.
    const f = e as unknown as Record<string, unknown>
    switch (e.kind) {
      case 'job:succeeded':
        m.throughput.record(false)
        break
      case 'job:failed':
        m.throughput.record(true)
        break
      case 'job:dispatched':
        if (isString(f['chainId'])) m.groups.chains.see(f['chainId'], true)
        if (isString(f['batchId'])) m.groups.batches.see(f['batchId'], true)
        break
      case 'queue:error': {
        const err = f['error'] as Record<string, unknown> | null | undefined
        const text = [err?.['message'], err?.['name']].find((s) => isString(s) && s !== '') as string | undefined
        m.error = `The queue reported an error: ${clip(text ?? 'unknown error')}`
        this.#changed()
        return
      }
      case 'queue:paused':
      case 'queue:resumed': {
        const queue = isString(f['queue']) ? f['queue'] : undefined
        if (f['queue'] !== undefined && queue === undefined) return
        if (e.kind === 'queue:paused') m.paused.add(queue ?? '*')
        else if (queue === undefined) m.paused.clear()
        else m.paused.delete(queue)
        m.pauseGeneration++
        this.#changed()
        return
      }
      default:
        if (e.kind.startsWith('chain:')) {
          if (isString(f['chainId'])) m.groups.chains.see(f['chainId'], true, e.kind === 'chain:started')
        } else if (e.kind.startsWith('batch:') && isString(f['batchId'])) {
          const id = f['batchId']
          m.groups.batches.see(id, !isBatch(f['state'], id), e.kind === 'batch:started')
          if (isBatch(f['state'], id)) m.groups.batches.set(id, f['state'])
        }
    }
    // The chart is drawn with the refresh that follows, not per event: a burst costs a few
    // frames, not one each.
    if (e.kind.startsWith('job:') || e.kind.startsWith('chain:') || e.kind.startsWith('batch:')) this.#refresh.request()
  }

  /** One refresh, once the read before it in its lane (from any `Live`) is over. */
  #turn(): Promise<void> {
    this.#readDetail()
    const lane = laneOf(inFlight, this.#lane)
    const before = lane.get(this.#q)
    const mine = (async () => {
      await before
      if (!this.#closed) await this.#bounded()
    })()
    lane.set(this.#q, mine)
    return mine
  }

  /** Reads, and gives up after `READ_TIMEOUT_MS`: the answer of a read given up is dropped. */
  async #bounded(): Promise<void> {
    const read = ++this.#read
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<'late'>((resolve) => (timer = globalThis.setTimeout(() => resolve('late'), READ_TIMEOUT_MS)))
    const reading = this.#fetch().then(
      (snapshot) => ({ snapshot }),
      (error: unknown) => ({ error }),
    )
    const outcome = await Promise.race([reading, late])
    globalThis.clearTimeout(timer)
    if (this.#closed || read !== this.#read) return
    const m = this.#model
    if (outcome === 'late') {
      this.#read++
      m.readError = `The queue did not answer for ${READ_TIMEOUT_MS / 1000} s.`
    } else if ('error' in outcome) {
      m.readError = `Could not read the queue: ${messageOf(outcome.error)}`
    } else {
      m.readError = undefined
      this.#emptyPage(outcome.snapshot)
    }
    this.#changed()
  }

  /** Reads counts, the page and the pause state, then the groups that moved, into the model. */
  async #fetch(): Promise<Snapshot> {
    const q = this.#q
    const m = this.#model
    const { state, type, version, offset } = m.filter
    const generation = m.filterGeneration
    const pauseGeneration = m.pauseGeneration
    const read = this.#read
    const { chains, batches } = m.groups
    const [counts, jobs, paused] = await Promise.all([
      q.counts(),
      q.listJobs({ ...(state && { state }), ...(type !== undefined && { type }), ...(version !== undefined && { version }), limit: PAGE_SIZE, offset }),
      q.pausedQueues?.(),
    ])
    if (this.#closed || read !== this.#read) return { counts, jobs, paused }
    m.counts = counts
    if (generation === m.filterGeneration) m.jobs = jobs
    if (paused && pauseGeneration === m.pauseGeneration) m.paused = new Set(paused)
    // Groups on the page are followed while there is room: a page of 50 batches must not
    // turn every refresh into 50 reads, nor push out the groups that events are about.
    for (const j of jobs) {
      if (j.chainId !== undefined) chains.offer(j.chainId)
      if (j.batchId !== undefined) batches.offer(j.batchId)
    }
    const [chainIds, batchIds] = [chains.takeStale(), batches.takeStale()]
    const [cs, bs] = await Promise.all([
      Promise.allSettled(chainIds.map((id) => q.findChain(id))),
      Promise.allSettled(batchIds.map((id) => q.findBatch(id))),
    ])
    if (this.#closed || read !== this.#read) {
      // Given up meanwhile: the groups taken are read again with the next refresh.
      for (const id of chainIds) chains.see(id, true)
      for (const id of batchIds) batches.see(id, true)
      return { counts, jobs, paused }
    }
    // A group that cannot be read (pruned meanwhile) is no longer followed.
    cs.forEach((r, i) => (r.status === 'fulfilled' ? chains.set(r.value.id, r.value) : chains.drop(chainIds[i] ?? '')))
    bs.forEach((r, i) => (r.status === 'fulfilled' ? batches.set(r.value.id, r.value) : batches.drop(batchIds[i] ?? '')))
    return { counts, jobs, paused }
  }

  /** Reads the job whose details are open, unless a read of it is in flight: then once that one ends. */
  #readDetail(): void {
    if (this.#closed || !this.#model.detail) return
    const reads = laneOf(detailInFlight, this.#lane)
    const before = reads.get(this.#q)
    if (before) {
      if (!this.#detailWaiting) {
        this.#detailWaiting = true
        void before.then(() => {
          this.#detailWaiting = false
          this.#readDetail()
        })
      }
      return
    }
    const mine = this.#detailOnce()
    reads.set(this.#q, mine)
    void mine.then(() => {
      if (reads.get(this.#q) === mine) reads.delete(this.#q)
    })
  }

  /**
   * One `getJob` of the open job, settled only once it answers. Past `READ_TIMEOUT_MS` the panel
   * says it did not answer; a late answer is still shown (no other read of it ran meanwhile).
   */
  async #detailOnce(): Promise<void> {
    const id = this.#model.detail?.id
    if (id === undefined) return
    const answer = Promise.resolve()
      .then(() => this.#q.getJob(id))
      .then(
        (job) => ({ job: found(job) }),
        (error: unknown) => ({ error: `Could not read this job: ${messageOf(error)}. Shown as last read.` }),
      )
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<{ error: string }>(
      (resolve) => (timer = globalThis.setTimeout(() => resolve({ error: `This job did not answer for ${READ_TIMEOUT_MS / 1000} s: shown as last read.` }), READ_TIMEOUT_MS)),
    )
    const first = await Promise.race([answer, late])
    globalThis.clearTimeout(timer)
    this.#showDetail(id, first)
    // Given up on, it is still in flight until it answers, and shown then.
    const last = await answer
    if (last !== first) this.#showDetail(id, last)
  }

  /** Puts a read of job `id` in the model, unless its details were closed, or another job's opened, meanwhile. */
  #showDetail(id: string, outcome: { job: JobRecord | null } | { error: string }): void {
    const m = this.#model
    if (this.#closed || m.detail?.id !== id) return
    m.detail = 'job' in outcome ? { id, job: outcome.job } : { ...m.detail, error: outcome.error }
    this.#changed()
  }

  /**
   * A page past the end (its jobs pruned or finished meanwhile) goes back to the last page
   * with jobs, or the first when that is unknown.
   */
  #emptyPage({ counts, jobs }: Snapshot): void {
    const m = this.#model
    const { offset, state, type, version } = m.filter
    if (jobs.length > 0 || offset === 0) return
    const total = state ? counts[state] : STATES.reduce((n, s) => n + counts[s], 0)
    const last = type === undefined && version === undefined && total > 0 ? Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE : 0
    m.filter = { ...m.filter, offset: Math.max(0, Math.min(offset - PAGE_SIZE, last)) }
    m.filterGeneration++
    this.#refresh.request()
  }
}
