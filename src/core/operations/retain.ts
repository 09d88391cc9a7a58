/**
 * One slice of retention (`SettleAndClaimInput.retain`): deletes finished jobs of the request's
 * `queues` that the queue's `Retention` no longer keeps, at most `limit` of them, with the
 * finished chains and batches they belong to. See `retention.ts` for what is kept.
 *
 * Per queue and finished state, two reads of the index of finished jobs by queue, state and
 * `finishedAt` name the jobs to delete, oldest first: with `ageMs`, those finished before
 * `now - ageMs`; with `count`, the oldest beyond `count` (the jobs of the queue and state are
 * counted from the index first). Only jobs finished before `now` are read, so a job is never
 * deleted by the call that finished it. A job is passed over, and the read goes on past it for
 * at most `PAGES` pages of `limit`, when
 * - its unique key still holds (`uniqueUntil > now`): deleting it would let a duplicate in;
 * - its chain or batch is still running, or has a callback job that has not finished;
 * - its chain or batch finished in another state: a finished group is selected only by its
 *   jobs in the group's own state (a failed batch by its failed jobs, never by a succeeded one),
 *   unless some of its jobs are already gone: then any job left selects it.
 * A finished group goes with all its jobs and then its record. A group that would take the slice
 * past `limit` waits for the next slice; one larger than `limit` is deleted over several slices,
 * members first in pages of what the slice has left, those in the group's own state last (they
 * select it again until it is gone), its record with the last of them. A group with a job that
 * may not go yet (its unique key holds) is kept whole. Each read walks past at most `PAGES`
 * pages of kept jobs: the limit this sets is documented in `retention.ts`.
 *
 * @module
 */
import type { FinishedQuery, StoreTx } from '../store-backend.js'
import type { RetainRequest, StoredBatch, StoredChain, StoredJob } from '../store.js'
import { callbackId, isFinished, replaysOf } from '../transitions.js'
import { unreadableOf } from '../damaged.js'
import type { FinishedState, JobState } from '../types.js'

/** Pages of candidates one read goes through, at most, passing over jobs that are kept. */
const PAGES = 4

const STATES: readonly FinishedState[] = ['succeeded', 'failed', 'cancelled']
const OPEN: JobState[] = ['blocked', 'waiting', 'delayed', 'active']

export interface RetainOutcome {
  /** Jobs deleted. */
  deleted: number
  /** The slice stopped at its limit: more jobs are due for deletion. */
  more: boolean
}

export async function retain(tx: StoreTx, req: RetainRequest, now: number): Promise<RetainOutcome> {
  const s = new Slice(tx, Math.max(1, Math.floor(req.limit)), now)
  out: for (const queue of new Set(req.queues)) {
    for (const state of STATES) {
      const keep = req.keep[state]
      if (!keep) continue
      if (keep.ageMs !== undefined) await s.through(queue, state, { before: Math.min(now, now - keep.ageMs) }, Infinity)
      if (s.full) break out
      if (keep.count !== undefined) {
        const beyond = (await tx.finishedCount(queue, state)) - keep.count
        if (beyond > 0) await s.through(queue, state, { before: now }, beyond)
      }
      if (s.full) break out
    }
  }
  return { deleted: s.deleted, more: s.full }
}

type Group = { kind: 'chain'; record: StoredChain } | { kind: 'batch'; record: StoredBatch }

class Slice {
  deleted = 0
  /** Stopped at the limit. */
  full = false
  readonly #tx: StoreTx
  readonly #limit: number
  readonly #now: number
  /** Groups found kept in this slice (running, or waiting for a callback job or a unique key). */
  readonly #kept = new Set<string>()
  readonly #gone = new Set<string>()
  /** Finished groups found with all their jobs stored: a job in another state passes them over. */
  readonly #whole = new Set<string>()
  /** Jobs deleted per queue and state. */
  readonly #deletedOf = new Map<string, number>()

  constructor(tx: StoreTx, limit: number, now: number) {
    this.#tx = tx
    this.#limit = limit
    this.#now = now
  }

  /** Deletes what one read names, until `want` jobs of this queue and state are gone or the slice is full. */
  async through(queue: string, state: FinishedState, q: Omit<FinishedQuery, 'limit' | 'offset'>, want: number): Promise<void> {
    const key = `${queue}\u0000${state}`
    const start = this.#deletedOf.get(key) ?? 0
    const done = (): boolean => (this.#deletedOf.get(key) ?? 0) - start >= want
    // Deleted jobs leave the index: only those passed over move the next page on.
    let passed = 0
    for (let page = 0; page < PAGES; page++) {
      const limit = this.#limit
      const found = await this.#tx.finished(queue, state, { ...q, offset: passed, limit })
      for (const j of found) {
        if (done() || this.full) return
        if (this.#gone.has(j.id)) continue
        if (!(await this.#take(j))) passed++
      }
      if (found.length < limit) return
    }
  }

  /** Deletes `j`, with its group; false when it is kept. */
  async #take(j: StoredJob): Promise<boolean> {
    if (!this.#deletable(j)) return false
    const key = j.chainId !== undefined ? `chain:${j.chainId}` : j.batchId !== undefined ? `batch:${j.batchId}` : undefined
    if (key === undefined) return this.#delete([j]).then(() => true)
    if (this.#kept.has(key)) return false
    const group = await this.#group(j)
    // A job whose group is gone (pruned by an older version without it) goes alone.
    if (!group) return this.#delete([j]).then(() => true)
    const g = group.record
    const damaged = unreadableOf(g) !== undefined
    let ids: string[] | undefined
    if (damaged) {
      // Its state cannot be told: it counts as finished once none of its jobs, found by the
      // jobs' index, is left to finish, and any of them selects it.
      if (await this.#openMembers(group)) {
        this.#kept.add(key)
        return false
      }
    } else {
      if (g.state === 'running') {
        this.#kept.add(key)
        return false
      }
      // Judged by its own state: a member in another state does not select the group, unless
      // some of its jobs are already gone (then any job left selects it, so that it goes whole).
      if (j.state !== g.state) {
        if (this.#whole.has(key)) return false
        ids = await this.#ids(group, false)
        if (ids.length >= (group.kind === 'batch' ? group.record.total : group.record.jobIds.length)) {
          this.#whole.add(key)
          return false
        }
      }
      if (group.kind === 'batch' && group.record.pending > 0) {
        this.#kept.add(key)
        return false
      }
    }
    if (!(await this.#callbacksFinished(g))) {
      this.#kept.add(key)
      return false
    }
    ids ??= await this.#ids(group, damaged)
    const left = this.#limit - this.deleted
    if (ids.length > left && ids.length <= this.#limit) {
      // Fits a slice of its own: the next one.
      this.full = true
      return false
    }
    const all = (await Promise.all(ids.map((id) => this.#tx.getJob(id)))).filter((m): m is StoredJob => m !== undefined)
    if (all.some((m) => !isFinished(m.state) || !this.#deletable(m))) {
      this.#kept.add(key)
      return false
    }
    // Over several slices, its jobs in its own state go last: they select it until its record goes.
    const members = [...all.filter((m) => m.state !== g.state), ...all.filter((m) => m.state === g.state)].slice(0, left)
    await this.#delete(members)
    if (members.length === all.length) await (group.kind === 'chain' ? this.#tx.deleteChain(g.id) : this.#tx.deleteBatch(g.id))
    else this.full = true
    return members.some((m) => m.id === j.id)
  }

  /**
   * The ids of the group's jobs still stored. A batch's come from the jobs' index: those deleted
   * by an earlier slice are not among them. A chain lists its steps: its stored steps are read
   * and those gone left out (a damaged chain's list cannot be trusted: its jobs are found by the
   * index too).
   */
  async #ids(group: Group, damaged: boolean): Promise<string[]> {
    if (group.kind === 'batch') return this.#tx.batchJobIds(group.record.id)
    if (damaged) return (await this.#tx.listJobs({ chainId: group.record.id, limit: Number.MAX_SAFE_INTEGER }, this.#now)).map((m) => m.id)
    return this.#present(group.record.jobIds)
  }

  /** Whether retention may delete this finished job now. */
  #deletable(j: StoredJob): boolean {
    if (j.uniqueUntil !== undefined && j.uniqueUntil > this.#now) return false
    return j.finishedAt !== undefined && j.finishedAt < this.#now
  }

  async #group(j: StoredJob): Promise<Group | undefined> {
    if (j.chainId !== undefined) {
      const record = await this.#tx.getChain(j.chainId)
      return record && { kind: 'chain', record }
    }
    const record = j.batchId === undefined ? undefined : await this.#tx.getBatch(j.batchId)
    return record && { kind: 'batch', record }
  }

  /** Whether any job of the group has not finished, by the jobs' index. */
  async #openMembers(group: Group): Promise<boolean> {
    const of = group.kind === 'chain' ? { chainId: group.record.id } : { batchId: group.record.id }
    const open = await this.#tx.listJobs({ ...of, state: OPEN, limit: 1 }, this.#now)
    return open.length > 0
  }

  /** The ids of these jobs that are still stored. */
  async #present(ids: string[]): Promise<string[]> {
    const jobs = await Promise.all(ids.map((id) => this.#tx.getJob(id)))
    return ids.filter((_, i) => jobs[i] !== undefined)
  }

  /** Whether none of the group's callback jobs, of any run, waits or runs. */
  async #callbacksFinished(g: StoredChain | StoredBatch): Promise<boolean> {
    const ids: string[] = []
    for (let r = 0; r <= replaysOf(g); r++) {
      for (const on of ['success', 'error', 'settled'] as const) ids.push(callbackId({ ...g, replays: r }, on))
    }
    if ('progressJobId' in g && g.progressJobId !== undefined) ids.push(g.progressJobId)
    const jobs = await Promise.all(ids.map((id) => this.#tx.getJob(id)))
    return jobs.every((c) => c === undefined || isFinished(c.state))
  }

  async #delete(jobs: StoredJob[]): Promise<void> {
    await Promise.all(jobs.map((m) => this.#tx.deleteJob(m.id)))
    for (const m of jobs) {
      this.#gone.add(m.id)
      const key = `${m.queue}\u0000${m.state}`
      this.#deletedOf.set(key, (this.#deletedOf.get(key) ?? 0) + 1)
    }
    this.deleted += jobs.length
    if (this.deleted >= this.#limit) this.full = true
  }
}
