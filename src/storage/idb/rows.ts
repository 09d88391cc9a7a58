/**
 * Jobs as they are kept in IndexedDB: the stored job plus `_ix`, the keys of the indexes that
 * serve the engine's queries.
 *
 * IndexedDB leaves a record out of an index when the index's key path yields no valid key. Each
 * `_ix` field is set only while the job is in the state its index serves, so every index holds
 * just the jobs its query wants: a claim reads waiting jobs and never steps over the delayed,
 * active or finished ones, however many there are. `_ix` is internal: `fromRow` strips it.
 *
 * Every index a record is in costs its puts an index entry to write and one to remove, so a
 * job is in as few as its queries need: a waiting job in `ready`, `readyRunAt` (one per claim
 * order) and `state`, an active one in `lease` only (active jobs are few: a listing reads them
 * all), a finished one in `state` and, outside chains and batches, `finished`, and in `retain`.
 * A job with a version (`dispatchedBy`, `processedBy`) is also in `version`, whatever its state;
 * its entries change only when a claim by another version changes `processedBy`. There is no
 * index of every job: a listing in dispatch order merges the `state` ranges.
 *
 * @module
 */
import type { StoredJob } from '../../core/store.js'

export interface JobIndexKeys {
  /** Every job but the active ones, per state in dispatch order: listings and counts. */
  state?: [state: string, seq: number]
  /** Waiting jobs in claim order per queue and type: priority (higher first), runAt, seq. */
  ready?: [queue: string, type: string, negPriority: number, runAt: number, seq: number]
  /**
   * Schema 5: waiting jobs in the `'runAt'` claim order per queue and type: runAt, priority
   * (higher first), seq.
   */
  readyRunAt?: [queue: string, type: string, runAt: number, negPriority: number, seq: number]
  /**
   * Schema 5, a multi-entry index: `[version, seq]` of the job's `dispatchedBy` and of its
   * `processedBy` (one entry when they are the same), in any state: `listJobs({ version })`
   * reads one version's jobs in dispatch order. A version that is not a string is left out.
   */
  version?: [version: string, seq: number][]
  /** Delayed jobs per queue, earliest first. */
  due?: [queue: string, runAt: number, seq: number]
  /** Delayed jobs across queues, for counting those whose time has come. */
  delayed?: number
  /** Active jobs per queue and type by lease end. */
  lease?: [queue: string, type: string, until: number]
  /** Finished jobs outside chains and batches, by finishedAt: what prune deletes on its own. */
  finished?: number
  /**
   * Schema 4: finished jobs per queue and state in the order they finished, chains' and batches'
   * too: what retention reads. (Schema 3 wrote `[state, finishedAt, seq]`; schema 4 rewrote them.)
   */
  retain?: [queue: string, state: string, finishedAt: number, seq: number] | [state: string, finishedAt: number, seq: number]
}

export interface JobRow extends StoredJob {
  _ix?: JobIndexKeys
}

export function toRow(j: StoredJob): JobRow {
  const ix: JobIndexKeys = j.state === 'active' ? {} : { state: [j.state, j.seq] }
  switch (j.state) {
    case 'waiting':
      // `0 - p` rather than `-p`: no negative zero in keys.
      ix.ready = [j.queue, j.type, 0 - j.priority, j.runAt, j.seq]
      ix.readyRunAt = [j.queue, j.type, j.runAt, 0 - j.priority, j.seq]
      break
    case 'delayed':
      ix.due = [j.queue, j.runAt, j.seq]
      ix.delayed = j.runAt
      break
    case 'active':
      ix.lease = [j.queue, j.type, j.lease?.until ?? 0]
      break
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      if (j.finishedAt !== undefined) {
        if (j.chainId === undefined && j.batchId === undefined) ix.finished = j.finishedAt
        ix.retain = [j.queue, j.state, j.finishedAt, j.seq]
      }
      break
    case 'blocked':
      break
  }
  const versions = versionKeys(j)
  if (versions) ix.version = versions
  // Object.assign, not a spread: V8 copies a record of this size several times faster so, and
  // a store call may put thousands. `_ix` comes last, which `fromRow` relies on.
  const row: JobRow = Object.assign({}, j)
  row._ix = ix
  return row
}

/** The `version` index's keys of a job, or none. */
function versionKeys(j: StoredJob): [string, number][] | undefined {
  const { dispatchedBy: d, processedBy: p } = j
  if (typeof d !== 'string') return typeof p === 'string' ? [[p, j.seq]] : undefined
  return typeof p === 'string' && p !== d ? [[d, j.seq], [p, j.seq]] : [[d, j.seq]]
}

/**
 * The stored job of a row just read: the row itself, `_ix` deleted. Each read hands out its own
 * copy of the record, so nothing else holds it; and `_ix` is its last property, whose delete
 * V8 undoes cheaply, where copying the rest would cost a new object per job read.
 */
export function fromRow(row: JobRow): StoredJob {
  delete row._ix
  return row
}

/** `'priority'` claim order of two waiting rows of any queue and type: their `ready` keys after the queue and type. */
export function byClaimOrder(a: JobRow, b: JobRow): number {
  return b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq
}

/** `'runAt'` claim order of two waiting rows of any queue and type: their `readyRunAt` keys after the queue and type. */
export function byRunAtClaimOrder(a: JobRow, b: JobRow): number {
  return a.runAt - b.runAt || b.priority - a.priority || a.seq - b.seq
}

export function byRunAt(a: JobRow, b: JobRow): number {
  return a.runAt - b.runAt || a.seq - b.seq
}

export function bySeq(a: JobRow, b: JobRow): number {
  return a.seq - b.seq
}
