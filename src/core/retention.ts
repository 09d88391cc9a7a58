/**
 * Retention: how many finished jobs a queue keeps, and for how long (see `QueueOptions.retention`).
 *
 * Each finished state (`succeeded`, `failed`, `cancelled`) has its own `Keep`, applied to each
 * queue on its own: the newest `count` jobs of that queue and state by `finishedAt`, and none
 * older than `ageMs`. With both, a job goes when either says so; beyond `count`, the oldest go
 * first. A state left out is kept forever, and so is everything when there is no retention at
 * all (the default). An engine applies retention to its own queues (`queues`) only: engines of
 * other queues sharing the store keep theirs by their own settings.
 *
 * Some finished jobs are kept whatever the settings say, passed over until that changes:
 * - a job whose unique key still holds (`uniqueFor`): deleting it would let a duplicate in;
 * - the jobs of a chain or batch that is still running, or whose callback jobs (`onSuccess`,
 *   `onError`, ..., of any run, replays included) still wait or run; they still count among
 *   the jobs of their state;
 * - a job finished by the very store call that applies retention.
 * Once a chain or batch has finished, it goes as a whole, its jobs and then its record, when
 * retention selects one of its jobs in the group's own state: a failed batch goes by the failed
 * rule, never because one of its succeeded jobs is past the succeeded `count`. A group some of
 * whose jobs are already gone (stored by an older version) is selected by any job left, so that
 * it still goes whole. Callback jobs are ordinary single jobs.
 *
 * The engine applies retention as part of the work it does anyway, in bounded slices: a store
 * call it makes to settle or claim also deletes at most 100 jobs (`RetainRequest.limit`), when
 * jobs finished since the last slice, and once when the engine starts. While ready jobs keep its
 * claims full, a slice goes with every 50 jobs settled rather than with every call, so a state
 * may hold a few dozen more than `count` for a while. Once the queue runs dry, one more call
 * brings every state back to exactly `count` (jobs that are kept, above, aside). A slice that
 * stopped at its limit is followed by the next at once, so a large backlog (retention turned on
 * for a store of a million jobs) goes over many turns, each short. A group is split only when it
 * is larger than a slice: then it goes over several consecutive slices, its jobs a page at a
 * time and its record with the last of them, so that no transaction grows with the group; its
 * jobs in other states go first and those in its own state last, so that the group is selected
 * again by the next slice until its record goes (a failed batch of 150 with one failed job loses
 * its succeeded jobs first, its failed job and record last). A group that fits a slice is never
 * split. A slice that deletes a chain reads the chain's stored steps (one read per step, since
 * a chain lists its steps), and one that deletes a batch reads its members. While a group is
 * being deleted over several slices, `replayChain` and `replayBatch` refuse it (`INVALID_STATE`):
 * a group some of whose jobs are gone cannot run whole again. The engine keeps no timer for
 * retention, so an idle engine stays idle: an age limit that passes while nothing happens is
 * applied at the next work (a dispatch, a due job, the next start). Stores answer a slice from an
 * index of finished jobs by queue, state and `finishedAt`, never by reading every finished job.
 *
 * A known limit: within one state, a slice walks past at most 400 jobs it must keep (jobs of a
 * chain or batch that is still kept, such as the succeeded jobs of a failed batch the failed rule
 * keeps for a week, and jobs whose unique key still holds) before it stops. If more than 400 such
 * jobs are older than every other job of that state, the state's `count` is not reached (nor
 * are the jobs behind them past `ageMs` deleted) until they may go: their group is deleted, or
 * their unique key lapses.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.js'
import type { FinishedState } from './types.js'

/** Keep the newest `count` jobs of a finished state, and none older than `ageMs`. */
export interface Keep {
  /** The newest this many jobs of the state are kept (by `finishedAt`); a whole number >= 0. */
  count?: number
  /** Jobs that finished longer ago than this are deleted; a finite number > 0. */
  ageMs?: number
}

/** What to keep of each finished state; a state left out is kept forever. */
export type Retention = Partial<Record<FinishedState, Keep>>

const STATES: readonly FinishedState[] = ['succeeded', 'failed', 'cancelled']

const DAY = 24 * 60 * 60 * 1000

/**
 * Suggested settings, for `createQueue({ retention: retentionDefaults.browser })`. The queue's own
 * default keeps everything.
 *
 * - `browser`: storage is scarce and the browser may evict an origin's data when it runs low,
 *   outbox and all, so finished jobs go quickly: a day of succeeded and cancelled jobs (at most
 *   100 of each), a week of failed ones (at most 500) to look at and replay.
 * - `node`: disk is cheap, but a database file that only grows is not (it slows backups and
 *   listings, and fills the disk in the end): a week of succeeded and cancelled jobs (at most
 *   10,000 and 1,000), a month of failed ones (at most 10,000).
 */
export const retentionDefaults: { readonly browser: Retention; readonly node: Retention } = {
  browser: {
    succeeded: { count: 100, ageMs: DAY },
    failed: { count: 500, ageMs: 7 * DAY },
    cancelled: { count: 100, ageMs: DAY },
  },
  node: {
    succeeded: { count: 10_000, ageMs: 7 * DAY },
    failed: { count: 10_000, ageMs: 30 * DAY },
    cancelled: { count: 1000, ageMs: 7 * DAY },
  },
}

/**
 * Checks a retention option and returns a copy of it; undefined keeps everything. Anything but an
 * object of known finished states, each a `Keep` of a whole `count` >= 0 and/or a finite
 * `ageMs` > 0 with no other key, is an `InvalidArgumentError`.
 */
export function checkRetention(retention: unknown): Retention | undefined {
  if (retention === undefined) return undefined
  if (!isRecord(retention)) throw new InvalidArgumentError(`retention must be an object of finished states, got ${show(retention)}`)
  const out: Retention = {}
  for (const [state, keep] of Object.entries(retention)) {
    if (!(STATES as readonly string[]).includes(state)) {
      throw new InvalidArgumentError(`retention: unknown state "${state}" (one of ${STATES.join(', ')})`)
    }
    if (keep === undefined) continue
    out[state as FinishedState] = checkKeep(state, keep)
  }
  return out
}

function checkKeep(state: string, keep: unknown): Keep {
  if (!isRecord(keep)) throw new InvalidArgumentError(`retention.${state} must be { count?, ageMs? }, got ${show(keep)}`)
  const out: Keep = {}
  for (const [key, v] of Object.entries(keep)) {
    if (key === 'count') {
      if (v === undefined) continue
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
        throw new InvalidArgumentError(`retention.${state}.count must be a whole number >= 0, got ${show(v)}`)
      }
      out.count = v
    } else if (key === 'ageMs') {
      if (v === undefined) continue
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw new InvalidArgumentError(`retention.${state}.ageMs must be a finite number > 0, got ${show(v)}`)
      }
      out.ageMs = v
    } else throw new InvalidArgumentError(`retention.${state}: unknown key "${key}" (count, ageMs)`)
  }
  if (out.count === undefined && out.ageMs === undefined) {
    throw new InvalidArgumentError(`retention.${state} must give count, ageMs or both`)
  }
  return out
}

function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return 'an array'
  if (v === null) return 'null'
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === undefined) return String(v)
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}
