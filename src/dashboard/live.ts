/**
 * `Live`: keeps a model current while the element is on the page. It listens to the queue's
 * events, counts throughput from them, follows chains and batches, and reads the counts, the
 * page of jobs, the paused queues and the groups that moved in one coalesced refresh: at most
 * one in flight, at most one per `REFRESH_MS` while events keep arriving, and one after the
 * last. Pause events change the pause state at once; a refresh sets it as read.
 *
 * @module
 */
import type { Subscription } from 'rxjs'
import type { QueueEvent } from '../core/types.js'
import { events$, online$, type NetworkAware } from '../observable/index.js'
import { Coalescer } from './coalesce.js'
import { PAGE_SIZE, messageOf, type DashboardQueue, type Model } from './model.js'

/** The least time between two refreshes while events keep arriving. */
export const REFRESH_MS = 250

/** How often the throughput chart moves on when nothing else changes. */
const TICK_MS = 1000

export class Live {
  readonly #q: DashboardQueue
  readonly #model: Model
  readonly #changed: () => void
  readonly #refresh: Coalescer
  readonly #subs: Subscription[] = []
  readonly #tick: ReturnType<typeof setInterval>
  #closed = false

  constructor(q: DashboardQueue, model: Model, changed: () => void) {
    this.#q = q
    this.#model = model
    this.#changed = changed
    this.#refresh = new Coalescer(() => this.#read(), REFRESH_MS)
    this.#subs.push(events$(q).subscribe((e) => this.#onEvent(e)))
    if (typeof q.online === 'boolean') {
      this.#subs.push(
        online$(q as NetworkAware).subscribe((online) => {
          model.online = online
          changed()
        }),
      )
    }
    this.#tick = globalThis.setInterval(changed, TICK_MS)
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
    globalThis.clearInterval(this.#tick)
  }

  #onEvent(e: QueueEvent): void {
    const m = this.#model
    switch (e.kind) {
      case 'job:succeeded':
        m.throughput.record(false)
        break
      case 'job:failed':
        m.throughput.record(true)
        break
      case 'job:dispatched':
        if (e.chainId !== undefined) m.groups.chains.see(e.chainId, true)
        if (e.batchId !== undefined) m.groups.batches.see(e.batchId, true)
        break
      case 'queue:error':
        m.error = `The queue reported an error: ${e.error.message || e.error.name}`
        this.#changed()
        return
      case 'queue:paused':
      case 'queue:resumed':
        if (e.kind === 'queue:paused') m.paused.add(e.queue ?? '*')
        else if (e.queue === undefined) m.paused.clear()
        else m.paused.delete(e.queue)
        m.pauseGeneration++
        this.#changed()
        return
      default:
        if (e.kind.startsWith('chain:')) m.groups.chains.see((e as { chainId: string }).chainId, true)
        else if (e.kind.startsWith('batch:')) {
          const { batchId, state } = e as Extract<QueueEvent, { kind: 'batch:started' }>
          m.groups.batches.see(batchId, false)
          m.groups.batches.set(batchId, state)
        }
    }
    // The chart is drawn with the refresh that follows, not per event: a burst costs a few
    // frames, not one each.
    if (e.kind.startsWith('job:') || e.kind.startsWith('chain:') || e.kind.startsWith('batch:')) this.#refresh.request()
  }

  /** One refresh: counts, the page of jobs, and the chains and batches that moved, together. */
  async #read(): Promise<void> {
    const q = this.#q
    const m = this.#model
    const { state, type, offset } = m.filter
    const generation = m.filterGeneration
    const pauseGeneration = m.pauseGeneration
    const { chains, batches } = m.groups
    try {
      const [counts, jobs, paused] = await Promise.all([
        q.counts(),
        q.listJobs({ ...(state && { state }), ...(type && { type }), limit: PAGE_SIZE, offset }),
        q.pausedQueues?.(),
      ])
      if (this.#closed) return
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
      if (this.#closed) return
      // A group that cannot be read (pruned meanwhile) is no longer followed.
      cs.forEach((r, i) => (r.status === 'fulfilled' ? chains.set(r.value.id, r.value) : chains.drop(chainIds[i] ?? '')))
      bs.forEach((r, i) => (r.status === 'fulfilled' ? batches.set(r.value.id, r.value) : batches.drop(batchIds[i] ?? '')))
      m.readError = undefined
    } catch (err) {
      if (this.#closed) return
      m.readError = `Could not read the queue: ${messageOf(err)}`
    }
    this.#changed()
  }
}
