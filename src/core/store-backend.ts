/**
 * What a storage backend provides so that `defineStore` can make a full `Store` of it: a way to
 * run one transaction, and the reads, index queries and writes allowed inside one. All the
 * rules live in `operations/`, shared by every backend.
 *
 * Inside a transaction a backend must show its own writes to later reads (a job put and then
 * queried is found in its new state), and must await nothing but its own requests: IndexedDB
 * commits a transaction as soon as no request is pending.
 *
 * Core may issue several requests of one transaction without awaiting each one first (a
 * `Promise.all` of reads, or puts issued one after another and awaited together). A backend
 * must apply them in the order they were issued: a read issued after a put sees it, and of two
 * puts of one record the later wins. IndexedDB does this by itself (requests of a transaction
 * run in the order they are made); the SQLite and memory backends run each request
 * synchronously when it is called, which gives the same order.
 *
 * @module
 */
import type { Counts, FinishedState, JobFilter, QueueEvent } from './types.js'
import type { AliveOwners, ClaimOrder, StoredBatch, StoredChain, StoredJob, StoredSchedule } from './store.js'

export interface QueueScope {
  queues: string[]
  types: string[]
}

export interface StoreReadTx {
  getJob(id: string): Promise<StoredJob | undefined>
  getChain(id: string): Promise<StoredChain | undefined>
  getBatch(id: string): Promise<StoredBatch | undefined>
  /**
   * The ids of the batch's jobs in dispatch order (`seq`), read from the jobs' batch index
   * (`StoredJob.batchId`): a `StoredBatch` does not list its jobs. Empty for an unknown batch.
   */
  batchJobIds(batchId: string): Promise<string[]>
  /** A job with this unique key whose `uniqueUntil` is later than `now`, if any. */
  findUnique(key: string, now: number): Promise<StoredJob | undefined>
  /**
   * `waiting` jobs of the scope in claim order, at most `limit`: with `'priority'` (the default)
   * priority desc, runAt, seq; with `'runAt'` runAt, priority desc, seq. Each order is read from
   * an index of its own, reading about `limit` records per queue and type.
   */
  ready(scope: QueueScope, limit: number, order?: ClaimOrder): Promise<StoredJob[]>
  /** `delayed` jobs of these queues with `runAt <= now`, earliest first, at most `limit`. */
  due(queues: string[], now: number, limit: number): Promise<StoredJob[]>
  /**
   * `active` jobs of the scope whose lease ended at or before `now`, at most `limit`. With
   * `alive`, also those whose lease owner is not in `alive.owners` and whose attempt started
   * (`startedAt`) before `alive.asOf`: their engine died. Active jobs are few (the slots of the
   * engines, and what dead ones left), so such a query may read every active job of the scope.
   */
  expired(scope: QueueScope, now: number, limit: number, alive?: AliveOwners): Promise<StoredJob[]>
  /** The earliest `runAt` of a delayed job of these queues, if any. */
  nextDue(queues: string[]): Promise<number | undefined>
  /** The earliest lease end, later than `now`, of an active job of the scope. */
  nextExpiry(scope: QueueScope, now: number): Promise<number | undefined>
  /**
   * Jobs matching the filter in dispatch order (`seq`), paged by `filter.limit` (default 100)
   * and `filter.offset` (default 0). A state filter matches the state users see: a `delayed`
   * job whose `runAt <= now` is `waiting`, not `delayed`. A backend answers it from indexes,
   * reading about `offset + limit` records: with 100,000 waiting jobs,
   * `{ state: 'waiting', limit: 100 }` reads about 100, not 100,000. `filter.version`
   * (`dispatchedBy` or `processedBy`) need not be indexed: a filter by version alone may read
   * every job to fill a page.
   */
  listJobs(filter: JobFilter, now: number): Promise<StoredJob[]>
  /** Jobs per stored state, with delayed jobs past `now` moved to waiting. */
  counts(now: number): Promise<Counts>
  /** Finished jobs with `finishedAt < before`, at most `limit`. */
  finishedBefore(before: number, limit: number): Promise<StoredJob[]>
  /**
   * Chains and batches finished before `before`, at most `limit` of each; a backend that reads
   * damaged records (`unreadable`) adds, on the last page, the damaged groups not finished,
   * which prune judges by their jobs.
   */
  groupsFinishedBefore(before: number, limit: number): Promise<{ chains: StoredChain[]; batches: StoredBatch[] }>
  /**
   * Jobs of one queue in a finished state in the order they finished (`finishedAt`, then `seq`):
   * oldest first, or newest first with `newest`. With `before`, only those with
   * `finishedAt < before`. The first `offset` (default 0) are skipped, and at most `limit`
   * returned. Jobs of chains and batches are included. A backend answers it from an index of
   * finished jobs by queue, state and `finishedAt`, reading about `offset + limit` records.
   */
  finished(queue: string, state: FinishedState, q: FinishedQuery): Promise<StoredJob[]>
  /** How many jobs of one queue are in a finished state, counted from the same index. */
  finishedCount(queue: string, state: FinishedState): Promise<number>
  getSchedule(name: string): Promise<StoredSchedule | undefined>
  /** Every schedule, by name. */
  listSchedules(): Promise<StoredSchedule[]>
  /** Schedules with `nextRunAt <= now`, earliest first, at most `limit`. */
  dueSchedules(now: number, limit: number): Promise<StoredSchedule[]>
  /** The earliest `nextRunAt` of any schedule. */
  nextScheduleAt(): Promise<number | undefined>
}

/** Which finished jobs `StoreReadTx.finished` reads. */
export interface FinishedQuery {
  newest?: boolean
  before?: number
  offset?: number
  limit: number
}

export interface StoreTx extends StoreReadTx {
  /**
   * Reserves `count` (default 1) consecutive dispatch sequence numbers and returns the first:
   * `first, first + 1, ..., first + count - 1` are all larger than every number handed out
   * before, and none is handed out again. `insert` of 1,000 jobs asks once.
   */
  nextSeq(count?: number): Promise<number>
  putJob(job: StoredJob): Promise<void>
  putChain(chain: StoredChain): Promise<void>
  putBatch(batch: StoredBatch): Promise<void>
  deleteJob(id: string): Promise<void>
  deleteChain(id: string): Promise<void>
  deleteBatch(id: string): Promise<void>
  putSchedule(schedule: StoredSchedule): Promise<void>
  deleteSchedule(name: string): Promise<void>
}

export interface StoreBackend {
  /**
   * Runs `fn` in one read-write transaction: commits when it resolves, leaves nothing behind
   * when it throws. `opts.tx` is the caller's own transaction to join, where supported.
   */
  write<T>(fn: (tx: StoreTx) => Promise<T>, opts?: { tx?: unknown }): Promise<T>
  /**
   * Optional, for backends that join the caller's transaction: resolves true once that
   * transaction has committed, false if it was rolled back. Events of a joined write are told
   * only after it commits, and never if it does not.
   */
  committed?(tx: unknown): Promise<boolean>
  /** Runs `fn` in one read-only transaction. */
  read<T>(fn: (tx: StoreReadTx) => Promise<T>): Promise<T>
  close(): Promise<void>
  /**
   * Optional: the other contexts (tabs, workers) that use the same storage. `publish` sends
   * the events of a transaction this context committed; `subscribe` hears theirs. The store's
   * `watch` listeners hear both, so engines wake and pages stay current across contexts.
   */
  share?: {
    publish(events: QueueEvent[]): void
    subscribe(listener: (events: QueueEvent[]) => void): () => void
  }
}
