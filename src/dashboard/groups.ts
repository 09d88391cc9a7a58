/**
 * The chains and batches the dashboard follows: found in the listed jobs and in chain and
 * batch events, a few of each at a time, read again only when an event says they moved.
 *
 * @module
 */
import type { BatchState, ChainState } from '../core/types.js'

/** Chains (and batches) followed at once; past it, the one seen least recently goes. */
export const GROUPS_KEPT = 6

export type GroupKind = 'chain' | 'batch'

interface Followed<S> {
  id: string
  state?: S
  /** An event (or its discovery) says it may have moved since it was last read. */
  stale: boolean
  seen: number
}

/** One kind of group: which ids are followed, their last state, which need a read. */
class Followers<S extends { createdAt: number; finishedAt?: number }> {
  readonly #items = new Map<string, Followed<S>>()
  #tick = 0

  /**
   * Follows `id` (or marks it seen again); `moved` asks for a read. A finished group is read
   * again only when it `restarted` (a replay): nothing else moves it.
   */
  see(id: string, moved: boolean, restarted = false): void {
    const f = this.#items.get(id)
    if (f) {
      f.seen = ++this.#tick
      if (moved && (restarted || f.state?.finishedAt === undefined)) f.stale = true
      return
    }
    this.#items.set(id, { id, stale: true, seen: ++this.#tick })
    if (this.#items.size > GROUPS_KEPT) this.#evict()
  }

  /** Follows `id` if there is room, and leaves the others alone. */
  offer(id: string): void {
    if (this.#items.size < GROUPS_KEPT && !this.#items.has(id)) this.see(id, true)
  }

  set(id: string, state: S): void {
    const f = this.#items.get(id)
    if (!f) return
    f.state = state
    f.stale = false
  }

  drop(id: string): void {
    this.#items.delete(id)
  }

  /** The ids to read now; they count as read from here on. */
  takeStale(): string[] {
    const out: string[] = []
    for (const f of this.#items.values()) {
      if (!f.stale) continue
      f.stale = false
      out.push(f.id)
    }
    return out
  }

  /** The groups with a state, newest first. */
  list(): S[] {
    const out: S[] = []
    for (const f of this.#items.values()) if (f.state) out.push(f.state)
    return out.sort((a, b) => b.createdAt - a.createdAt)
  }

  clear(): void {
    this.#items.clear()
  }

  /** Finished groups go first, then the one seen least recently. */
  #evict(): void {
    let victim: Followed<S> | undefined
    for (const f of this.#items.values()) {
      const done = f.state?.finishedAt !== undefined
      const best = victim?.state?.finishedAt !== undefined
      if (!victim || (done && !best) || (done === best && f.seen < victim.seen)) victim = f
    }
    if (victim) this.#items.delete(victim.id)
  }
}

export class Groups {
  readonly chains = new Followers<ChainState>()
  readonly batches = new Followers<BatchState>()

  clear(): void {
    this.chains.clear()
    this.batches.clear()
  }
}

/** How far a chain got: its steps that succeeded, of all. */
export function chainProgress(c: ChainState): { value: number; max: number } {
  return { value: c.steps.filter((s) => s.state === 'succeeded').length, max: c.steps.length }
}

/** How far a batch got: its jobs that finished either way, of all. */
export function batchProgress(b: BatchState): { value: number; max: number } {
  return { value: b.succeeded + b.failed + b.cancelled, max: b.total }
}
