/**
 * One slice of retention (`SettleAndClaimInput.retain`): deletes finished jobs that the queue's
 * `Retention` no longer keeps, at most `limit` of them, with the finished chains and batches they
 * belong to. See `retention.ts` for what is kept.
 *
 * Per finished state, two index reads name the jobs to delete: with `ageMs`, those finished
 * before `now - ageMs`, oldest first; with `count`, those past the newest `count`, newest first.
 * A job of a chain or batch that is still running (or has a job still running) is passed over
 * and the read goes on past it, for at most `PAGES` pages of `limit` per read: behind more than
 * that, the rest waits until those groups finish. A finished group is deleted whole, record and
 * jobs, in this transaction, or not at all: a group that would take the slice past `limit` is
 * left for the next one, unless it is the slice's first deletion (so a batch larger than
 * `limit` still goes, alone).
 *
 * @module
 */
import type { FinishedQuery, StoreTx } from '../store-backend.js'
import type { RetainRequest, StoredJob } from '../store.js'
import { isFinished } from '../transitions.js'
import type { FinishedState } from '../types.js'

/** Pages of candidates one read goes through, at most, passing over running groups' jobs. */
const PAGES = 4

const STATES: readonly FinishedState[] = ['succeeded', 'failed', 'cancelled']

export interface RetainOutcome {
  /** Jobs deleted. */
  deleted: number
  /** The slice stopped at its limit: more jobs are due for deletion. */
  more: boolean
}

export async function retain(tx: StoreTx, req: RetainRequest, now: number): Promise<RetainOutcome> {
  const s = new Slice(tx, Math.max(1, Math.floor(req.limit)))
  for (const state of STATES) {
    const keep = req.keep[state]
    if (!keep) continue
    if (keep.ageMs !== undefined && !(await s.through(state, { before: now - keep.ageMs }))) break
    if (keep.count !== undefined && !(await s.through(state, { newest: true, offset: keep.count }))) break
  }
  return { deleted: s.deleted, more: s.full }
}

type Group = { kind: 'chain' | 'batch'; id: string }

class Slice {
  deleted = 0
  /** Stopped at the limit. */
  full = false
  readonly #tx: StoreTx
  readonly #limit: number
  /** Groups decided in this slice: deleted, or kept (running). */
  readonly #seen = new Set<string>()
  readonly #gone = new Set<string>()

  constructor(tx: StoreTx, limit: number) {
    this.#tx = tx
    this.#limit = limit
  }

  /** Deletes what one read names; false once the slice is full. */
  async through(state: FinishedState, q: Omit<FinishedQuery, 'limit'>): Promise<boolean> {
    // Deleted jobs leave the index: only those passed over move the next page on.
    let passed = 0
    for (let page = 0; page < PAGES; page++) {
      const limit = this.#limit
      const found = await this.#tx.finished(state, { ...q, offset: (q.offset ?? 0) + passed, limit })
      for (const j of found) {
        if (this.#gone.has(j.id)) continue
        if (!(await this.#take(j))) passed++
        if (this.full) return false
      }
      if (found.length < limit) return true
    }
    return true
  }

  /** Deletes `j` with its group; false when it is kept (its group runs). */
  async #take(j: StoredJob): Promise<boolean> {
    const group: Group | undefined =
      j.chainId !== undefined ? { kind: 'chain', id: j.chainId } : j.batchId !== undefined ? { kind: 'batch', id: j.batchId } : undefined
    if (!group) return this.#alone(j)
    const key = `${group.kind}:${group.id}`
    if (this.#seen.has(key)) return false
    const ids = await this.#members(group)
    // A job whose group is gone (pruned by an older version without it) goes alone.
    if (ids === 'gone') return this.#alone(j)
    const jobs = ids === 'running' ? [] : await Promise.all(ids.map((id) => this.#tx.getJob(id)))
    if (ids === 'running' || jobs.some((m) => m !== undefined && !isFinished(m.state))) {
      this.#seen.add(key)
      return false
    }
    if (this.deleted > 0 && this.deleted + ids.length > this.#limit) {
      this.full = true
      return false
    }
    this.#seen.add(key)
    const writes: Promise<void>[] = []
    for (const m of jobs) {
      if (!m) continue
      writes.push(this.#tx.deleteJob(m.id))
      this.#gone.add(m.id)
      this.deleted++
    }
    writes.push(group.kind === 'chain' ? this.#tx.deleteChain(group.id) : this.#tx.deleteBatch(group.id))
    await Promise.all(writes)
    this.full = this.deleted >= this.#limit
    return true
  }

  async #alone(j: StoredJob): Promise<boolean> {
    await this.#tx.deleteJob(j.id)
    this.#gone.add(j.id)
    this.deleted++
    this.full = this.deleted >= this.#limit
    return true
  }

  /** The job ids of a group, or whether it is running or gone. */
  async #members(group: Group): Promise<string[] | 'running' | 'gone'> {
    if (group.kind === 'chain') {
      const chain = await this.#tx.getChain(group.id)
      if (!chain) return 'gone'
      return chain.state === 'running' ? 'running' : chain.jobIds
    }
    const batch = await this.#tx.getBatch(group.id)
    if (!batch) return 'gone'
    return batch.state === 'running' ? 'running' : this.#tx.batchJobIds(group.id)
  }
}
