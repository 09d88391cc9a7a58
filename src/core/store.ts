/**
 * The Store contract: the one seam between the engine and storage.
 *
 * Every method is one atomic transaction: it happens completely or not at all, and concurrent
 * calls (from this engine, another tab, another worker) behave as if they ran one after
 * another. The engine passes the time, ids and lease tokens in, so a store makes no policy of
 * its own: what a transition does is decided by the shared functions in `operations/`, which
 * stores built with `defineStore` call inside their transactions. A third-party store proves
 * itself against `storeContract` from `ferry/testing`.
 *
 * @module
 */
import type {
  Backoff,
  BatchState,
  ChainState,
  Clock,
  Counts,
  DispatchResult,
  GroupState,
  JobFilter,
  JobRecord,
  JobMeta,
  QueueEvent,
  SerializedError,
} from './types.js'
import type { Liveness } from './liveness.js'
import type { Retention } from './retention.js'

/** A lease on an active job: who holds it, the fencing token, and until when. */
export interface Lease {
  owner: string
  token: string
  until: number
}

/** Which chain or batch a callback job was enqueued for, and on what. */
export interface CallbackOf {
  group: 'chain' | 'batch'
  id: string
  on: 'success' | 'error' | 'settled' | 'progress'
}

/** A job as the store keeps it: the public record plus what the engine needs to run it. */
export interface StoredJob extends JobRecord {
  /** Dispatch order, assigned by the store; breaks ties in claim order. */
  seq: number
  backoff: number | Backoff
  timeoutMs?: number
  /** A chain step waits this long after it is released. */
  delayMs?: number
  /** The unique key holds until this time. */
  uniqueUntil?: number
  lease?: Lease
  /** `cancel` was called while the job was active; the engine aborts it on its next renewal. */
  cancelRequested?: boolean
  /**
   * Claimed ahead (`ClaimRequest.ahead`): `active` and leased, but its handler has not started
   * and its attempt is not counted. It counts as not started everywhere (cancel, batch and chain
   * rules, takeover) until a start (`SettleAndClaimInput.started`) clears the flag.
   */
  ahead?: boolean
  /** A chain step's index. */
  step?: number
  /** In a chain, the result of the step before (set when this step is released). */
  previousResult?: unknown
  callbackOf?: CallbackOf
  /** For a callback job of `onError`: the error that failed its chain or batch. */
  groupError?: SerializedError
}

/** What a job will be once it is written: everything but what the store assigns. */
export interface NewJob {
  id: string
  type: string
  queue: string
  payload: unknown
  priority: number
  maxAttempts: number
  backoff: number | Backoff
  timeoutMs?: number
  runAt: number
  delayMs?: number
  uniqueKey?: string
  uniqueUntil?: number
  /** Kept on the record as it is (see `JobRecord.meta`). */
  meta?: JobMeta
  /** The dispatching queue's `version`. */
  dispatchedBy?: string
}

/** A job spec kept in a chain or batch record until a transition enqueues it as a callback. */
export type CallbackDraft = Omit<NewJob, 'id' | 'runAt' | 'uniqueKey' | 'uniqueUntil'>

export interface StoredChain {
  id: string
  state: GroupState
  jobIds: string[]
  current: number
  createdAt: number
  finishedAt?: number
  error?: SerializedError
  callbacks: { success?: CallbackDraft; error?: CallbackDraft; settled?: CallbackDraft }
  /** Times the chain was replayed; names each run's callback jobs apart. Absent: 0. */
  replays?: number
  /**
   * Set when the stored chain cannot be read as it was written (a damaged file, a row changed by
   * hand): code `CORRUPT_RECORD`, the fields it lacked filled in. Such a chain does not move when its
   * steps finish; once none of its jobs is left to finish, prune and retention delete it whole.
   */
  unreadable?: SerializedError
}

/**
 * A batch as the store keeps it: its counters and callbacks, not its members. The ids of its
 * jobs come from the jobs' batch index (`StoreReadTx.batchJobIds`), so settling a member
 * rewrites a small record whatever the size of the batch. Records written before this may
 * still carry a `jobIds` list; it is ignored.
 */
export interface StoredBatch extends Omit<BatchState, 'jobIds'> {
  allowFailures: boolean
  error?: SerializedError
  callbacks: { progress?: CallbackDraft; success?: CallbackDraft; error?: CallbackDraft; settled?: CallbackDraft }
  /** How many progress callbacks were enqueued; names the next one. */
  progressCount: number
  /** The progress callback that may still be waiting: at most one waits at a time. */
  progressJobId?: string
  /** Times the batch was replayed; names each run's callback jobs apart. Absent: 0. */
  replays?: number
  /**
   * Set when the stored batch cannot be read as it was written (a damaged file, a row changed by
   * hand): code `CORRUPT_RECORD`, the fields it lacked filled in. Such a batch does not move when its
   * members finish; once none of its jobs is left to finish, prune and retention delete it whole.
   */
  unreadable?: SerializedError
}

/** A recurring job: what `queue.schedule` keeps in the store. */
export interface StoredSchedule {
  name: string
  /** A cron expression (five or six fields, or `@hourly`, `@daily`, ...) or an interval. */
  when: string | { every: number }
  /** IANA time zone for cron expressions. @default the engine's local time zone */
  timezone?: string
  /** Occurrences missed while nothing ran: `'once'` enqueues one on wake, `'skip'` none. */
  catchUp: 'once' | 'skip'
  /** The job each occurrence enqueues. */
  job: CallbackDraft
  /** The next occurrence not yet enqueued. */
  nextRunAt: number
  lastRunAt?: number
  createdAt: number
  updatedAt: number
  /**
   * Set when the stored schedule cannot be read as it was written (a damaged file, a row changed by
   * hand): code `CORRUPT_RECORD`, the fields it lacked filled in. Such a schedule never fires (its next
   * run is `NEVER`); `unschedule` removes it and `schedule` replaces it.
   */
  unreadable?: SerializedError
}

export interface NewChain {
  id: string
  /** The steps in order; the first is released at once, the others wait `blocked`. */
  steps: NewJob[]
  callbacks: StoredChain['callbacks']
}

export interface NewBatch {
  id: string
  name?: string
  jobs: NewJob[]
  allowFailures: boolean
  callbacks: StoredBatch['callbacks']
}

export interface InsertInput {
  now: number
  /** Single jobs: an id that exists, or a unique key still held, is a duplicate and not written. */
  jobs: NewJob[]
  chains?: NewChain[]
  batches?: NewBatch[]
}

export interface InsertOutcome {
  /** One per input job, in order. */
  results: DispatchResult[]
  events: QueueEvent[]
}

/** The outcome of one attempt, as the engine reports it. */
export type AttemptOutcome =
  | { kind: 'succeeded'; result?: unknown }
  /** Retried with backoff while attempts are left, unless `unrecoverable`. */
  | { kind: 'failed'; error: SerializedError; unrecoverable?: boolean }
  /**
   * Back to the queue at `runAt` without spending the attempt (rate limit, overlap, stop). A job
   * claimed ahead and never started (a release from the engine's buffer) keeps its own `runAt`,
   * so it keeps its place in claim order.
   */
  | { kind: 'deferred'; runAt: number }
  /** Finished without running the handler: `succeeded` with no result, `job:skipped`. */
  | { kind: 'skipped' }
  /** Cancelled while it ran. */
  | { kind: 'cancelled' }

export interface Settlement {
  id: string
  /** The token of the claim that leased the job; a stale token changes nothing. */
  token: string
  outcome: AttemptOutcome
  /** A number in [0, 1) for backoff jitter, drawn by the engine so stores stay deterministic. */
  random?: number
}

export interface ClaimRequest {
  /**
   * The claiming engine, written into each lease. An expired lease is a stalled attempt
   * (`job:stalled`) and counts as spent, whoever held it.
   */
  owner: string
  /** Written into each claimed job's lease. A new token per claim call. */
  token: string
  queues: string[]
  /** Only jobs of these types are claimed: the engine has handlers for them. */
  types: string[]
  limit: number
  /**
   * After the `limit` jobs, up to this many more ready jobs, in the same claim order, are leased
   * as claimed ahead: `active`, with the same lease and `startedAt` (dead-owner takeover reads
   * it), but flagged `ahead`, the attempt not counted and no `job:started`: the engine keeps them
   * until a slot frees and stamps them when their handler starts (`SettleAndClaimInput.started`).
   * @default 0
   */
  ahead?: number
  leaseUntil: number
  /**
   * Claim order among ready jobs: `'priority'` (higher priority first, then earlier `runAt`, then
   * `seq`) or `'runAt'` (earlier `runAt` first, then higher priority, then `seq`). Each order is
   * read from an index of its own. @default 'priority'
   */
  order?: ClaimOrder
  /**
   * The claiming engine's `version`, written as `processedBy` on each job this claim starts.
   * A job claimed ahead is not started: it gets the version its start sends
   * (`SettleAndClaimInput.started`). Absent: `processedBy` is left as it is.
   */
  version?: string
  /**
   * Ids of jobs the caller is still running, including attempts it ended (timed out, lease
   * lost, released by stop) less than a lease ago whose handler has not returned yet. None of
   * them is claimed, by any path: not an expired lease (renewals may have failed for a while),
   * not a job waiting again. An engine must never run one job twice at once. The limit still
   * fills with others.
   */
  running?: string[]
  /**
   * The engines known alive, read from the store's `liveness` just after `asOf` (the claimer's
   * clock). An active lease of the claim's scope whose owner is neither in `owners` nor the
   * claimer itself, and whose attempt started (`startedAt`) before `asOf`, belongs to a dead
   * engine: it is taken over at once exactly like an expired lease (`job:stalled`, the attempt
   * counted; failed with `LEASE_LOST` on its last attempt; cancelled when a cancel was
   * requested; never a job in `running`). A job claimed ahead that is taken over never started:
   * it goes back to waiting, its attempt and `runAt` unchanged, without `job:stalled`. The strict `startedAt < asOf` makes this race-free:
   * an engine that began proving itself alive after `owners` was read claims only later.
   */
  alive?: AliveOwners
}

/** See `ClaimRequest.order`. */
export type ClaimOrder = 'priority' | 'runAt'

/** The engines alive as of a time: see `ClaimRequest.alive`. */
export interface AliveOwners {
  owners: string[]
  asOf: number
}

export interface SettleAndClaimInput {
  now: number
  /**
   * Jobs claimed ahead whose handlers started at `at`, applied first: each one still leased with
   * that token and flagged `ahead` loses the flag, its attempt is counted and `startedAt` set,
   * with a `job:started` event. One no longer leased with that token (cancelled, taken over) is
   * `lost`: its handler must be aborted. A job started and finished between two calls is
   * stamped and settled in the same call. `version` is the starting engine's version
   * (`ClaimRequest.version`), written then as the job's `processedBy`: a job claimed ahead is
   * not started, so its claim writes none. Absent, `processedBy` is left as it is.
   */
  started?: { id: string; token: string; at: number; version?: string }[]
  settle: Settlement[]
  claim?: ClaimRequest
  /**
   * The time-driven changes, made with or without a claim: enqueue the due occurrences of
   * schedules, and move the due delayed jobs of these queues to `waiting` (each with a
   * `job:waiting` event). `nextWakeAt` then also says when the next of either falls due, even
   * when the claim took its limit. An engine sends it when that time has come or it does not
   * know it, so a claim on the hot path skips these queries.
   */
  tick?: { queues: string[] }
  /**
   * One bounded slice of retention, applied last, after the settlements and the claim (a job
   * that finished in this call may go in it): finished jobs that `keep` no longer keeps, at `now`,
   * are deleted, at most `limit` (see `RetainRequest`). It needs no claim or tick: a call may
   * carry only this. Stores that do not know it ignore it (and return no `retained`).
   */
  retain?: RetainRequest
}

/**
 * One slice of retention (see `retention.ts` for what is kept) over the finished jobs of
 * `queues`. Per queue and finished state, the oldest jobs beyond `count` and those finished
 * before `now - ageMs` are deleted; a job of a chain or batch only with its whole group, once the
 * group, all its jobs and its callback jobs have finished. Events are not emitted for deletions.
 */
export interface RetainRequest {
  keep: Retention
  /** The queues whose finished jobs this slice looks at: the engine's queues. */
  queues: string[]
  /**
   * Jobs deleted at most. A finished group that would take the slice past `limit` waits for
   * the next slice; one larger than `limit` is deleted over several slices, members first.
   */
  limit: number
}

export interface SettleAndClaimOutcome {
  /** Starts and settlements whose token no longer held the job: nothing was written for them. */
  lost: string[]
  /**
   * Jobs now leased to the caller, `active`, in claim order: the `limit` ones with their attempt
   * counted, then those claimed ahead (flagged `ahead`).
   */
  claimed: StoredJob[]
  /**
   * The earliest later time a job of the claim's queues and types may become claimable, a
   * delayed job of the tick's queues comes due, or a schedule falls due. Without a tick, left
   * out when the claim took as many jobs as its limit (the engine comes back at once) and when
   * there was no claim; with a tick and no room left in the claim, lease ends are left out.
   */
  nextWakeAt?: number
  /**
   * Jobs claimed ahead whose start this call stamped, though they were cancelled meanwhile: their
   * handlers are to be stopped (they end `cancelled` when settled).
   */
  cancelRequested?: string[]
  /**
   * With `retain`: the jobs it deleted, and `more` when it stopped at its limit (more may be due:
   * the engine sends the next slice at once). `more` is false once a slice found nothing more it
   * may delete now.
   */
  retained?: { deleted: number; more: boolean }
  events: QueueEvent[]
}

export interface RenewInput {
  now: number
  leases: { id: string; token: string }[]
  until: number
}

export interface RenewOutcome {
  /** Ids whose lease was extended. The others are lost to the caller. */
  held: string[]
  /** Held ids whose job was cancelled while it ran. */
  cancelRequested: string[]
}

export interface CancelInput {
  now: number
  jobIds?: string[]
  /** Cancel the batch: its jobs that have not started (claimed ahead included) are cancelled. */
  batchId?: string
}

export interface CancelOutcome {
  /** Jobs that were waiting, delayed, blocked or claimed ahead and are now cancelled. */
  cancelled: string[]
  /** Active jobs marked for cancellation: their engine aborts them. */
  requested: string[]
  events: QueueEvent[]
}

/** Which failed chain or batch `Store.replayGroup` replays. */
export interface ReplayGroupInput {
  now: number
  group: 'chain' | 'batch'
  id: string
}

export interface ReplayOutcome {
  replayed: boolean
  events: QueueEvent[]
}

export interface Store {
  /**
   * Writes new jobs, chains and batches, all or nothing. A single job whose id exists, or whose
   * unique key is held by a job with `uniqueUntil > now`, is not written and comes back as
   * `duplicate`. A payload the store cannot hold rejects with `SerializationError` and writes
   * nothing. `opts.tx` is the caller's own transaction where the store supports that.
   */
  insert(input: InsertInput, opts?: { tx?: unknown }): Promise<InsertOutcome>

  /**
   * Stamps the starts of jobs claimed ahead (`started`), then settles finished attempts and
   * claims new jobs, in one transaction. Each settlement applies
   * only if the job is active with that token; the job's chain or batch moves in the same
   * transaction. A claim or a tick then enqueues the due occurrences of schedules (each once:
   * its job id derives from the schedule and the occurrence time) and promotes the due delayed
   * jobs of its queues to `waiting` (`job:waiting`). The claim then takes over expired leases
   * and the leases of engines that `claim.alive` shows dead (counted as an attempt; failed when
   * none are left; cancelled when a cancel was requested while it ran) and leases ready jobs in
   * order: priority (higher first), runAt, seq; then, with `claim.ahead`, leases more of them
   * as claimed ahead (not started). A job claimed ahead whose lease is taken over goes back to
   * waiting, its attempt not spent.
   */
  settleAndClaim(input: SettleAndClaimInput): Promise<SettleAndClaimOutcome>

  /** Extends the leases still held with these tokens to `until`. */
  renew(input: RenewInput): Promise<RenewOutcome>

  /** Stores a progress value if the lease is held. Returns false when it is not. */
  progress(input: { id: string; token: string; progress: unknown; now?: number }): Promise<boolean>

  /** Cancels jobs that have not started (claimed ahead included), marks active ones, and cancels a batch. */
  cancel(input: CancelInput): Promise<CancelOutcome>

  /**
   * Puts a failed or cancelled single job back to `waiting` with its attempts reset. A job of a
   * chain or batch cannot be replayed alone: that rejects with a `QueueError` of code
   * `INVALID_STATE` and changes nothing.
   */
  replay(input: { now: number; id: string }): Promise<ReplayOutcome>

  /**
   * Optional. Replays a failed chain from its failed step on, or a failed batch's failed and
   * cancelled jobs, in one transaction, with the group running again. Rejects with
   * `NotFoundError` for an unknown group and a `QueueError` of code `INVALID_STATE` for one that
   * is not failed, changing nothing.
   */
  replayGroup?(input: ReplayGroupInput): Promise<ReplayOutcome>

  /**
   * Deletes jobs finished before `before` that belong to no unfinished chain or batch, and
   * chains and batches finished before it with all their jobs. Returns the jobs deleted.
   */
  prune(input: { before: number }): Promise<number>

  /** Creates or replaces the schedule of that name. */
  putSchedule(input: { now: number; schedule: StoredSchedule }): Promise<void>
  /** Removes a schedule; false when there was none. Jobs it enqueued stay. */
  deleteSchedule(name: string): Promise<boolean>
  /** Every schedule, by name. */
  listSchedules(): Promise<StoredSchedule[]>

  getJob(id: string): Promise<StoredJob | undefined>
  /** Jobs matching the filter in dispatch order. A delayed job past its runAt counts as waiting. */
  listJobs(filter: JobFilter, now: number): Promise<StoredJob[]>
  /** Jobs per state; a delayed job past its runAt counts as waiting. */
  counts(now: number): Promise<Counts>
  getChain(id: string): Promise<ChainState | undefined>
  getBatch(id: string): Promise<BatchState | undefined>

  /**
   * Optional. Calls `listener` with the events of every transaction committed on this store,
   * after it commits: those made through this object and, for a store that spans contexts
   * (tabs, workers), those made elsewhere. A queue on such a store emits what it hears here,
   * so its `events` show all work on the store, and its engine wakes for work committed by
   * others instead of polling. Returns the function that stops listening.
   */
  watch?(listener: (events: QueueEvent[]) => void): () => void

  /**
   * Optional. What tells engines on this store which engines are alive: each engine holds its
   * owner id here for its life, and sends what `alive()` says with its claims
   * (`ClaimRequest.alive`), so a job leased by an engine that died is taken over at once
   * instead of after its lease. Without it, only the lease expiry frees such a job. It must
   * see every engine that can reach the store: a store shared by several processes or tabs
   * needs a liveness that spans them (Web Locks for tabs), a store only this context can reach
   * may use `exclusiveLiveness()`.
   */
  readonly liveness?: Liveness

  /**
   * Optional. The time every engine on this store should use (a queue given a `clock` of its
   * own uses that instead). Engines compare lease ends and due times written with each other's
   * clocks, so a store that processes on several machines share gives the database's time.
   * @default undefined (the system clock)
   */
  readonly clock?: Clock

  /** Releases the store's resources. Calls after close reject with `QueueClosedError`. */
  close(): Promise<void>
}
