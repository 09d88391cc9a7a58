/**
 * `StoreTx` over one IndexedDB transaction: the reads, index queries and writes the core's
 * operations run inside it.
 *
 * Every method awaits IndexedDB requests and nothing else, so the transaction stays active from
 * the first call to the last and commits when the operation is done. IndexedDB runs a
 * transaction's requests in the order they were made and shows it its own writes, so writes
 * are not waited for one by one: a put is queued and the next read, made after it, sees it.
 * `flush` waits for the queued writes; a value that cannot be cloned still fails its `put` at
 * once, before anything else is queued. Reads issued together are in flight together: nothing
 * here makes one wait for another (the sequence counter is read once per transaction, and
 * every `nextSeq` of it takes its numbers from that one read).
 *
 * A batch record does not list its jobs (the jobs' `batch` index does): a list written by
 * schema 1 is dropped when the record is read or written.
 *
 * @module
 */
import { unwrap, type IDBPTransaction } from 'idb'
import { readBatch, readChain, readSchedule, storedForm, unreadableOf, withoutMark } from '../../core/damaged.js'
import { InvalidArgumentError } from '../../core/errors.js'
import type { StoredBatch, StoredChain, StoredSchedule } from '../../core/store.js'
import type { StoreTx } from '../../core/store-backend.js'
import { counts, due, expired, finished, finishedCount, listJobs, nextDue, nextExpiry, ready } from './queries.js'
import { request, WriteQueue } from './request.js'
import { fromRow, toRow, type JobRow } from './rows.js'
import { STORES, type FerryDB, type FerryStoreName } from './schema.js'

export type FerryTx = IDBPTransaction<FerryDB, FerryStoreName[], 'readwrite'>

const HIGH: IDBValidKey = []
const DONE = Promise.resolve()

/** A batch record without the member list schema 1 kept in it. */
function withoutMembers(b: StoredBatch): StoredBatch {
  if (!('jobIds' in b)) return b
  const { jobIds: _, ...rest } = b as StoredBatch & { jobIds?: unknown }
  return rest
}

/**
 * Records as read: one that lacks what the engine needs (changed or damaged in storage) is
 * marked `unreadable`, and keeps the form it was read in for when it is written back.
 */
const chainOf = (c: StoredChain): StoredChain => readChain(c.id, { ...c }, c)
const batchOf = (b: StoredBatch): StoredBatch => {
  const read = withoutMembers(b)
  return readBatch(read.id, { ...read }, b)
}
const scheduleOf = (sc: StoredSchedule): StoredSchedule => readSchedule(sc.name, { ...sc }, sc)

export interface IdbStoreTx extends StoreTx {
  /** Resolves once every queued write succeeded; rejects with the first that failed. */
  flush(): Promise<void>
}

/**
 * The sequence counter of each IndexedDB transaction: the stored value, read once by the first
 * `nextSeq`, and the last number handed out in it.
 */
const counters = new WeakMap<IDBTransaction, { stored?: Promise<number | undefined>; last?: number }>()

export function storeTx(wrapped: FerryTx): IdbStoreTx {
  const tx = unwrap(wrapped)
  const jobs = tx.objectStore(STORES.jobs)
  const chains = tx.objectStore(STORES.chains)
  const batches = tx.objectStore(STORES.batches)
  const schedules = tx.objectStore(STORES.schedules)
  const meta = tx.objectStore(STORES.meta)
  // Kept per IndexedDB transaction, not per call: dispatches joined to one application
  // transaction are separate calls on it, issued together.
  let counter = counters.get(tx)
  if (!counter) counters.set(tx, (counter = {}))
  const seqs = counter
  const writes = new WriteQueue(tx, [jobs, chains, batches, schedules, meta])
  const queue = (r: IDBRequest): Promise<void> => {
    writes.add(r)
    return DONE
  }
  const rows = async (p: Promise<JobRow[]>) => (await p).map(fromRow)
  const all = <T>(r: IDBRequest<unknown[]> | IDBRequest<IDBValidKey[]>) => request<unknown[]>(r as IDBRequest<unknown[]>) as Promise<T[]>
  return {
    getJob: async (id) => {
      const row = (await request(jobs.get(id))) as JobRow | undefined
      return row && fromRow(row)
    },
    getChain: async (id) => {
      const c = (await request(chains.get(id))) as StoredChain | undefined
      return c && chainOf(c)
    },
    getBatch: async (id) => {
      const b = (await request(batches.get(id))) as StoredBatch | undefined
      return b && batchOf(b)
    },
    batchJobIds: (batchId) => all<string>(jobs.index('batch').getAllKeys(IDBKeyRange.bound([batchId], [batchId, HIGH]))),
    findUnique: async (key, now) => {
      const [holder] = await all<JobRow>(jobs.index('unique').getAll(IDBKeyRange.bound([key, now], [key, HIGH], true), 1))
      return holder && fromRow(holder)
    },
    ready: (scope, limit, order) => rows(ready(jobs, scope, limit, order)),
    due: (queues, now, limit) => rows(due(jobs, queues, now, limit)),
    expired: (scope, now, limit, alive) => rows(expired(jobs, scope, now, limit, alive)),
    nextDue: (queues) => nextDue(jobs, queues),
    nextExpiry: (scope, now) => nextExpiry(jobs, scope, now),
    listJobs: (filter, now) => rows(listJobs(jobs, filter, now)),
    counts: (now) => counts(jobs, now),
    finishedBefore: (before, limit) => rows(all<JobRow>(jobs.index('finished').getAll(IDBKeyRange.upperBound(before, true), limit))),
    groupsFinishedBefore: async (before, limit) => {
      const finished = IDBKeyRange.upperBound(before, true)
      const [c, b] = await Promise.all([all<StoredChain>(chains.index('finished').getAll(finished, limit)), all<StoredBatch>(batches.index('finished').getAll(finished, limit))])
      // With the last page, the damaged groups not finished (at most `limit` of each), which
      // prune judges by their jobs: no index holds them, so every record is read.
      const damaged = async <T extends StoredChain | StoredBatch>(found: T[], source: IDBObjectStore, of: (g: T) => T): Promise<T[]> => {
        if (found.length >= limit) return []
        const open = (await all<T>(source.getAll())).filter((g) => g.finishedAt === undefined).map(of)
        return open.filter((g) => unreadableOf(g) !== undefined).slice(0, limit)
      }
      const [dc, db] = await Promise.all([damaged(c, chains, chainOf), damaged(b, batches, batchOf)])
      return { chains: [...c.map(chainOf), ...dc], batches: [...b.map(batchOf), ...db] }
    },
    finished: (queue, state, q) => rows(finished(jobs, queue, state, q)),
    finishedCount: (queue, state) => finishedCount(jobs, queue, state),
    getSchedule: async (name) => {
      const sc = (await request(schedules.get(name))) as StoredSchedule | undefined
      return sc && scheduleOf(sc)
    },
    listSchedules: async () => (await all<StoredSchedule>(schedules.getAll())).map(scheduleOf),
    dueSchedules: async (now, limit) => (await all<StoredSchedule>(schedules.index('next').getAll(IDBKeyRange.upperBound(now), limit))).map(scheduleOf),
    // Numbers sort first: a next run that is not one (a damaged schedule) never fires.
    nextScheduleAt: async () => {
      const t: unknown = (await all<StoredSchedule>(schedules.index('next').getAll(null, 1)))[0]?.nextRunAt
      return typeof t === 'number' && Number.isFinite(t) ? t : undefined
    },

    nextSeq: async (count = 1) => {
      if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError(`nextSeq: count must be a positive integer, not ${count}`)
      seqs.stored ??= request(meta.get('seq')) as Promise<number | undefined>
      const stored = await seqs.stored
      // Calls issued together resume here in the order they were made.
      const first = (seqs.last ?? stored ?? 0) + 1
      seqs.last = first + count - 1
      await queue(meta.put(seqs.last, 'seq'))
      return first
    },
    putJob: async (j) => queue(jobs.put(toRow(j))),
    deleteJob: async (id) => queue(jobs.delete(id)),
    putChain: async (c) => queue(chains.put(storedForm(c) ?? withoutMark(c))),
    deleteChain: async (id) => queue(chains.delete(id)),
    putBatch: async (b) => queue(batches.put(storedForm(b) ?? withoutMembers(withoutMark(b)))),
    deleteBatch: async (id) => queue(batches.delete(id)),
    putSchedule: async (sc) => {
      // A damaged schedule is written back as it was read, but for when it next runs.
      const stored = storedForm(sc) as object | undefined
      return queue(schedules.put(stored ? { ...stored, nextRunAt: sc.nextRunAt } : withoutMark(sc)))
    },
    deleteSchedule: async (name) => queue(schedules.delete(name)),
    flush: () => writes.settled(),
  }
}
