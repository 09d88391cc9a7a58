/**
 * What the dashboard shows, in one object: the element renders from it and nothing else.
 *
 * @module
 */
import type { Counts, JobFilter, JobRecord, JobState, QueueLike } from '../core/types.js'
import { Groups } from './groups.js'
import { Throughput } from './throughput.js'

/**
 * What the dashboard needs of a queue: a `Queue` and a `QueueClient` are both one. `online` is
 * optional: without it the network state is not shown. So is `pausedQueues`: without it the
 * pause state is known only from the events seen while the element is on the page.
 */
export interface DashboardQueue extends QueueLike {
  listJobs(filter?: JobFilter): Promise<JobRecord[]>
  cancel(id: string): Promise<boolean>
  replay(id: string): Promise<boolean>
  /** Without it, failed chains are shown without a Replay button. */
  replayChain?(id: string): Promise<void>
  /** Without it, failed batches are shown without a Replay button. */
  replayBatch?(id: string): Promise<void>
  pause(queue?: string): void | Promise<void>
  resume(queue?: string): void | Promise<void>
  pausedQueues?(): string[] | Promise<string[]>
  readonly online?: boolean
}

export const STATES: readonly JobState[] = ['waiting', 'active', 'delayed', 'blocked', 'succeeded', 'failed', 'cancelled']

/** Jobs per page of the list. */
export const PAGE_SIZE = 50

export interface Model {
  counts?: Counts
  jobs: JobRecord[]
  /** `version`: jobs dispatched by it or whose last attempt ran on it (`listJobs({ version })`). */
  filter: { state?: JobState; type?: string; version?: string; offset: number }
  /** Bumped at each filter change, so a read started before it is not shown. */
  filterGeneration: number
  /** Undefined while unknown, or when the queue does not tell. */
  online?: boolean
  /** Queue names paused, as the last read of `pausedQueues` and the pause events since told. */
  paused: Set<string>
  /** Bumped at each pause event, so a read started before it does not undo it. */
  pauseGeneration: number
  /** The last failed action (or a queue error), shown until dismissed or replaced. */
  error?: string
  /** Why the last refresh failed; gone with the next one that succeeds. */
  readError?: string
  /** Jobs with an action in flight: their buttons are disabled meanwhile. */
  busy: Set<string>
  /** Chains and batches (`chain <id>`, `batch <id>`) with a replay in flight. */
  groupsBusy: Set<string>
  /** Which kinds of group the queue can replay. */
  replayable: { chain: boolean; batch: boolean }
  /** A pause or resume is in flight. */
  pausing: boolean
  throughput: Throughput
  groups: Groups
  /**
   * The job whose details are open, as last read: `null` when the store no longer has it.
   * `error`: why the last read of it failed (what is shown is then the read before).
   */
  detail?: { id: string; job?: JobRecord | null; error?: string }
  /** Why the version typed in the filter is not used (the filter before it still is). */
  versionInvalid?: string
}

export function emptyModel(): Model {
  return {
    jobs: [],
    filter: { offset: 0 },
    filterGeneration: 0,
    paused: new Set(),
    pauseGeneration: 0,
    busy: new Set(),
    groupsBusy: new Set(),
    replayable: { chain: false, batch: false },
    pausing: false,
    throughput: new Throughput(),
    groups: new Groups(),
  }
}

/** A readable message for anything thrown. */
export function messageOf(err: unknown): string {
  return clip(err instanceof Error ? err.message || err.name : String(err))
}

/** The most of a message the element shows: a message of any size stays a banner. */
export const MESSAGE_CHARS = 400

/** `text`, cut to `MESSAGE_CHARS` with an ellipsis. */
export function clip(text: string): string {
  return text.length <= MESSAGE_CHARS ? text : `${text.slice(0, MESSAGE_CHARS - 1)}…`
}
