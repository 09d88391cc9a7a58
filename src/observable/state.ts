/**
 * `job$`, `batch$`, `chain$` and `counts$`: the current state first, then every change.
 *
 * @module
 */
import type { Observable } from 'rxjs'
import { NotFoundError } from '../core/errors.js'
import type { BatchState, ChainState, Counts, JobRecord, QueueEvent, QueueLike } from '../core/types.js'
import { refreshing } from './refresh.js'

const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])

/**
 * A job's record now, then after each change; completes once the job is finished (a late
 * subscriber to a finished job gets the final record and completion). Errors with
 * `NotFoundError` for an unknown id.
 */
export function job$(q: QueueLike, id: string): Observable<JobRecord> {
  return refreshing(q, {
    read: async () => {
      const j = await q.getJob(id)
      if (!j) throw new NotFoundError(`no job with id ${id}`)
      return j
    },
    relevant: (e) => 'jobId' in e && e.jobId === id && e.kind !== 'chain:started',
    done: (j) => FINISHED.has(j.state),
  })
}

/** A batch's state now, then as its jobs finish; completes once the batch is finished. */
export function batch$(q: QueueLike, id: string): Observable<BatchState> {
  return refreshing(q, {
    read: () => q.findBatch(id),
    relevant: (e) => e.kind.startsWith('batch:') && (e as { batchId?: string }).batchId === id,
    done: (b) => b.finishedAt !== undefined,
  })
}

/** A chain's state now, then as its steps move; completes once the chain is finished. */
export function chain$(q: QueueLike, id: string): Observable<ChainState> {
  let steps = new Set<string>()
  return refreshing(q, {
    read: async () => {
      const c = await q.findChain(id)
      steps = new Set(c.steps.map((s) => s.jobId))
      return c
    },
    relevant: (e) =>
      (e.kind.startsWith('chain:') && (e as { chainId?: string }).chainId === id) || ('jobId' in e && steps.has(e.jobId ?? '')),
    done: (c) => c.finishedAt !== undefined,
  })
}

/** Events after which the counts per state may differ. */
function movesCounts(e: QueueEvent): boolean {
  return e.kind.startsWith('job:') && e.kind !== 'job:progress'
}

/**
 * While events keep arriving, the counts are read at most once per this many milliseconds: a
 * few frames, quick enough for a badge or a progress bar, and a burst of a thousand jobs costs
 * a few dozen reads instead of one or two per job.
 */
const COUNTS_WINDOW_MS = 50

/**
 * Jobs per state now, then after changes. Reads are coalesced: at most one in flight, at most
 * one per 50 ms while events keep arriving, and one after the last event, so the counts at
 * rest are exact.
 */
export function counts$(q: QueueLike): Observable<Counts> {
  return refreshing(q, {
    read: () => q.counts(),
    relevant: (e) => movesCounts(e) || e.kind === 'chain:advanced',
    windowMs: COUNTS_WINDOW_MS,
  })
}
