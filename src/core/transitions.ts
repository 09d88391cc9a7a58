/**
 * The rules of every state change, as functions from the records read inside a transaction to
 * the records to write and the events to emit. Stores never decide any of this: the shared
 * operations read, call these, and write what they return.
 *
 * A job's life: `blocked` (a chain step not yet released) -> `waiting` / `delayed` (runAt in the
 * future) -> `active` (leased) -> `succeeded` | `failed` | `cancelled`. A failed attempt with
 * attempts left goes back to `delayed` with the backoff; a deferred attempt goes back without
 * spending the attempt. A job claimed ahead is `active` and leased but flagged `ahead`: not
 * started, its attempt not counted, until its engine stamps its start; until then every rule
 * treats it as waiting (cancels, takeover, release).
 *
 * @module
 */
import { backoffDelay } from './backoff.js'
import type { CallbackDraft, CallbackOf, NewJob, StoredBatch, StoredChain, StoredJob } from './store.js'
import type { BatchState, FinishedState, JobState, QueueEvent, SerializedError } from './types.js'

/**
 * What one transaction writes: records to put, jobs to create, events to emit after commit.
 * One `Changes` lives for a whole operation, so what it holds is also what the transaction has
 * changed but not yet written: reads look here first.
 */
export class Changes {
  readonly jobs = new Map<string, StoredJob>()
  readonly chains = new Map<string, StoredChain>()
  readonly batches = new Map<string, StoredBatch>()
  /** Callback jobs to create; the operation assigns their seq. */
  readonly created: StoredJob[] = []
  readonly events: QueueEvent[] = []
  /**
   * The member ids of the batches this transaction touches, in dispatch order: read once per
   * batch per transaction (`StoreReadTx.batchJobIds`), by the operation, before a transition
   * that shows the batch in an event.
   */
  get batchJobIds(): Map<string, string[]> {
    return (this.#batchJobIds ??= new Map())
  }
  #batchJobIds?: Map<string, string[]>
  /** Where this transaction's `batch:progressed` event of each batch is: one per batch. */
  #progressed?: Map<string, QueueEvent>

  constructor(readonly now: number) {}

  job(j: StoredJob): StoredJob {
    this.jobs.set(j.id, j)
    return j
  }
  /** Emits `e`, which the caller has just made for this: it gets its `at` in place. */
  emit(e: DistributiveOmit<QueueEvent, 'at'>): void {
    const event = e as QueueEvent
    event.at = this.now
    this.events.push(event)
  }
  /**
   * A batch moved. Members settled in one transaction are one moment: the batch's earlier
   * `batch:progressed` of this transaction gives way to this one, which tells the last state.
   */
  progressed(b: StoredBatch): void {
    this.#progressed ??= new Map()
    const prev = this.#progressed.get(b.id)
    if (prev) this.events.splice(this.events.lastIndexOf(prev), 1)
    this.emit({ kind: 'batch:progressed', batchId: b.id, state: this.view(b) })
    this.#progressed.set(b.id, this.events[this.events.length - 1] as QueueEvent)
  }
  /**
   * The batch as users see it, with its members read for this transaction. The events of one
   * transaction share its one list of ids: a batch of 10,000 settled by 100 members in one
   * transaction is not copied 100 times.
   */
  view(b: StoredBatch): BatchState {
    return viewOf(b, this.#batchJobIds?.get(b.id) ?? [])
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export function isFinished(s: JobState): s is FinishedState {
  return s === 'succeeded' || s === 'failed' || s === 'cancelled'
}

/**
 * When a job released now may run: its runAt, or its delay from now when it has one and that
 * is later. A runAt in the past is kept: it orders the job before later ones.
 */
export function releaseTime(j: { runAt: number; delayMs?: number }, now: number): number {
  return j.delayMs === undefined ? j.runAt : Math.max(j.runAt, now + j.delayMs)
}

/** A new job record in `waiting` or `delayed` (or `blocked`, for later chain steps). */
export function newJob(n: NewJob, seq: number, now: number, extra?: Partial<StoredJob>): StoredJob {
  const runAt = releaseTime(n, now)
  const j: StoredJob = {
    ...n,
    runAt,
    seq,
    state: runAt > now ? 'delayed' : 'waiting',
    attempt: 0,
    createdAt: now,
    ...extra,
  }
  return j
}

export function dispatched(c: Changes, j: StoredJob): void {
  c.emit({
    kind: 'job:dispatched',
    jobId: j.id,
    type: j.type,
    queue: j.queue,
    ...(j.chainId === undefined ? {} : { chainId: j.chainId }),
    ...(j.batchId === undefined ? {} : { batchId: j.batchId }),
  })
}

/** Who a claim leases jobs to: see `ClaimRequest`. */
export interface Claimer {
  owner: string
  token: string
  leaseUntil: number
  /**
   * Written as `processedBy` on each job leased to start now (not on jobs claimed ahead); absent,
   * `processedBy` is left as it is.
   */
  version?: string
}

/** When a job became ready to run: the later of its `runAt` and its dispatch. */
export function readyAt(j: StoredJob): number {
  return Math.max(j.runAt, j.createdAt)
}

function started(j: StoredJob, c: Changes): void {
  c.emit({ kind: 'job:started', jobId: j.id, type: j.type, queue: j.queue, attempt: j.attempt, readyAt: readyAt(j) })
}

/** Leases a waiting (or stalled) job to a claim: the attempt counts from here. */
export function lease(j: StoredJob, by: Claimer, c: Changes): StoredJob {
  const { cancelRequested: _, ahead: __, ...rest } = j
  const next = c.job({
    ...rest,
    state: 'active',
    attempt: j.attempt + 1,
    startedAt: c.now,
    lease: { owner: by.owner, token: by.token, until: by.leaseUntil },
    ...(by.version === undefined ? {} : { processedBy: by.version }),
  })
  started(next, c)
  return next
}

/**
 * Leases a waiting job to a claim as claimed ahead: not started, so its attempt is not counted
 * and nothing is told; `startedAt` is when its engine took it (dead-owner takeover reads it).
 * No version is written: `processedBy` names the engine that started the last attempt, and
 * this one has not started (its start writes it, see `stamp`), so a release, a cancel or a
 * takeover has nothing to undo.
 */
export function leaseAhead(j: StoredJob, by: Claimer, c: Changes): StoredJob {
  const { cancelRequested: _, ...rest } = j
  return c.job({
    ...rest,
    state: 'active',
    ahead: true,
    startedAt: c.now,
    lease: { owner: by.owner, token: by.token, until: by.leaseUntil },
  })
}

/**
 * The handler of a job claimed ahead started at `at`, on an engine of `version` (written as
 * `processedBy`; absent, it is left as it is): the attempt counts from here.
 */
export function stamp(j: StoredJob, at: number, c: Changes, version?: string): StoredJob {
  const { ahead: _, ...rest } = j
  const next = c.job({ ...rest, attempt: j.attempt + 1, startedAt: at, ...(version === undefined ? {} : { processedBy: version }) })
  started(next, c)
  return next
}

/** A job claimed ahead goes back as it was before the claim: same runAt (its place in claim order), same attempt. */
export function unclaim(j: StoredJob, c: Changes): StoredJob {
  const { lease: _, ahead: __, startedAt: ___, cancelRequested: ____, ...rest } = j
  return c.job({ ...rest, state: j.runAt > c.now ? 'delayed' : 'waiting' })
}

export type Outcome =
  | { kind: 'succeeded'; result?: unknown }
  | { kind: 'failed'; error: SerializedError; unrecoverable?: boolean }
  | { kind: 'deferred'; runAt: number }
  | { kind: 'skipped' }
  | { kind: 'cancelled' }

/** The end of an attempt on an active job. Returns the job as it is now. */
export function endAttempt(j: StoredJob, o: Outcome, random: number, c: Changes): StoredJob {
  if (j.ahead && o.kind === 'deferred') {
    // Released from an engine's buffer before it started: nothing to undo.
    c.emit({ kind: 'job:deferred', jobId: j.id, type: j.type, runAt: j.runAt })
    return unclaim(j, c)
  }
  const { lease: _, cancelRequested: __, ahead: ___, ...base } = j
  const now = c.now
  switch (o.kind) {
    case 'succeeded': {
      const next = c.job({ ...base, state: 'succeeded', finishedAt: now, ...(o.result === undefined ? {} : { result: o.result }) })
      c.emit({ kind: 'job:succeeded', jobId: j.id, type: j.type, ...(o.result === undefined ? {} : { result: o.result }) })
      return next
    }
    case 'skipped': {
      c.emit({ kind: 'job:skipped', jobId: j.id, type: j.type })
      return c.job({ ...base, state: 'succeeded', finishedAt: now })
    }
    case 'deferred': {
      c.emit({ kind: 'job:deferred', jobId: j.id, type: j.type, runAt: o.runAt })
      return c.job({ ...base, attempt: Math.max(0, j.attempt - 1), runAt: o.runAt, state: o.runAt > now ? 'delayed' : 'waiting' })
    }
    case 'cancelled': {
      c.emit({ kind: 'job:cancelled', jobId: j.id, type: j.type })
      // Claimed ahead and dropped unstarted: it never started.
      if (j.ahead) delete base.startedAt
      return c.job({ ...base, state: 'cancelled', finishedAt: now })
    }
    case 'failed': {
      if (!o.unrecoverable && j.attempt < j.maxAttempts) {
        const retryAt = now + backoffDelay(j.backoff, j.attempt, random)
        c.emit({ kind: 'job:retrying', jobId: j.id, type: j.type, attempt: j.attempt, error: o.error, retryAt })
        return c.job({ ...base, state: retryAt > now ? 'delayed' : 'waiting', runAt: retryAt, error: o.error })
      }
      c.emit({ kind: 'job:failed', jobId: j.id, type: j.type, attempt: j.attempt, error: o.error })
      return c.job({ ...base, state: 'failed', finishedAt: now, error: o.error })
    }
  }
}

/** A job that has not started is cancelled (waiting, delayed or blocked). */
export function cancelQueued(j: StoredJob, c: Changes): StoredJob {
  c.emit({ kind: 'job:cancelled', jobId: j.id, type: j.type })
  const { lease: _, ahead: __, cancelRequested: ___, ...rest } = j
  if (j.ahead) delete rest.startedAt
  return c.job({ ...rest, state: 'cancelled', finishedAt: c.now })
}

/** Waiting, delayed or blocked: no engine holds it. */
export function notStarted(j: StoredJob): boolean {
  return j.state === 'waiting' || j.state === 'delayed' || j.state === 'blocked'
}

/**
 * A job an engine claimed ahead: the store has not heard that its handler started, but it may
 * have (the start is told with the engine's next call). It is cancelled as a running job is:
 * asked to stop (`cancelRequested`), and it ends `cancelled` when its engine settles it, whether
 * it dropped it unstarted or aborted its handler. Its group finishes then, not before.
 */
export function claimedAhead(j: StoredJob): boolean {
  return j.state === 'active' && j.ahead === true
}

/** Stops a job that has not finished: queued ones end cancelled, claimed-ahead ones are asked to. */
function stopMember(j: StoredJob, c: Changes): StoredJob {
  if (notStarted(j)) return cancelQueued(j, c)
  if (claimedAhead(j) && !j.cancelRequested) return c.job({ ...j, cancelRequested: true })
  return j
}

/**
 * How many times a chain or batch has been replayed (`replayChain`, `replayBatch`). Kept on its
 * record; an absent count is 0.
 */
export function replaysOf(g: StoredChain | StoredBatch): number {
  return g.replays ?? 0
}

/**
 * The id of a chain's or batch's callback job. Derived from the group, so a transition run
 * twice creates it once; and from its replays, so the ending of a replayed run enqueues its
 * callbacks again, once: `<id>:<on>` on the first run, `<id>:<on>:r<n>` after the n-th replay.
 */
export function callbackId(g: StoredChain | StoredBatch, on: 'success' | 'error' | 'settled'): string {
  const n = replaysOf(g)
  return n === 0 ? `${g.id}:${on}` : `${g.id}:${on}:r${n}`
}

function enqueueCallback(
  draft: CallbackDraft | undefined,
  of: CallbackOf,
  id: string,
  c: Changes,
  groupError?: SerializedError,
): void {
  if (!draft) return
  const runAt = c.now + (draft.delayMs ?? 0)
  c.created.push({
    ...draft,
    id,
    runAt,
    seq: 0,
    state: runAt > c.now ? 'delayed' : 'waiting',
    attempt: 0,
    createdAt: c.now,
    callbackOf: of,
    ...(groupError === undefined ? {} : { groupError }),
  })
}

/**
 * A chain step finished. `rest` are the steps after it, in order. Success releases the next
 * step with the result as its `previousResult`, or completes the chain. Failure or
 * cancellation cancels the rest and finishes the chain.
 */
export function chainStepFinished(chain: StoredChain, step: StoredJob, rest: StoredJob[], c: Changes): void {
  if (chain.state !== 'running') return
  const cb = (on: CallbackOf['on']): CallbackOf => ({ group: 'chain', id: chain.id, on })
  if (step.state === 'succeeded') {
    const next = rest[0]
    if (next && next.state === 'blocked') {
      // Ready from now, not from the chain's dispatch: its readyAt and its place in the
      // 'runAt' order (after the jobs already waiting) count from its release.
      const runAt = Math.max(releaseTime(next, c.now), c.now)
      c.job({
        ...next,
        state: runAt > c.now ? 'delayed' : 'waiting',
        runAt,
        ...(step.result === undefined ? {} : { previousResult: step.result }),
      })
      c.chains.set(chain.id, { ...chain, current: (step.step ?? 0) + 1 })
      c.emit({ kind: 'chain:advanced', chainId: chain.id, jobId: next.id })
      return
    }
    c.chains.set(chain.id, { ...chain, state: 'succeeded', finishedAt: c.now })
    c.emit({ kind: 'chain:completed', chainId: chain.id, jobId: step.id })
    enqueueCallback(chain.callbacks.success, cb('success'), callbackId(chain, 'success'), c)
    enqueueCallback(chain.callbacks.settled, cb('settled'), callbackId(chain, 'settled'), c)
    return
  }
  for (const r of rest) stopMember(r, c)
  const failed = step.state === 'failed'
  const error = failed ? step.error : undefined
  c.chains.set(chain.id, {
    ...chain,
    state: failed ? 'failed' : 'cancelled',
    finishedAt: c.now,
    ...(error === undefined ? {} : { error }),
  })
  c.emit({ kind: failed ? 'chain:failed' : 'chain:cancelled', chainId: chain.id, jobId: step.id })
  if (failed) enqueueCallback(chain.callbacks.error, cb('error'), callbackId(chain, 'error'), c, error)
  enqueueCallback(chain.callbacks.settled, cb('settled'), callbackId(chain, 'settled'), c, error)
}

/** A batch as users see it: its counters and `jobIds`, the ids of its members in dispatch order. */
export function batchView(b: StoredBatch, jobIds: readonly string[]): BatchState {
  return viewOf(b, [...jobIds])
}

function viewOf(b: StoredBatch, jobIds: string[]): BatchState {
  const v: BatchState = {
    id: b.id,
    state: b.state,
    total: b.total,
    pending: b.pending,
    succeeded: b.succeeded,
    failed: b.failed,
    cancelled: b.cancelled,
    jobIds,
    createdAt: b.createdAt,
  }
  if (b.name !== undefined) v.name = b.name
  if (b.finishedAt !== undefined) v.finishedAt = b.finishedAt
  return v
}

/**
 * Batch members finished. Counters move; the first failure (without `allowFailures`) fails the
 * batch and cancels the members that have not started (`members` must then hold every member;
 * otherwise it may be empty). `progressJob` is the progress callback that may still be waiting.
 * The batch's ids must be in `c.batchJobIds` for its events.
 */
export function batchMemberFinished(
  batch: StoredBatch,
  member: StoredJob,
  members: StoredJob[],
  progressJob: StoredJob | undefined,
  c: Changes,
): void {
  let b = count({ ...batch }, member.state)
  const cb = (on: CallbackOf['on']): CallbackOf => ({ group: 'batch', id: b.id, on })
  if (member.state === 'failed' && b.error === undefined) {
    const error = member.error ?? { name: 'Error', message: 'job failed' }
    b.error = error
    enqueueCallback(b.callbacks.error, cb('error'), callbackId(b, 'error'), c, error)
    if (!b.allowFailures && b.state === 'running') {
      b.state = 'failed'
      for (const m of members) if (m.id !== member.id) b = countStopped(b, m, stopMember(m, c))
      c.emit({ kind: 'batch:failed', batchId: b.id, state: c.view(b) })
    }
  }
  const progressWaiting = progressJob !== undefined && (progressJob.state === 'waiting' || progressJob.state === 'delayed')
  if (b.callbacks.progress && !progressWaiting) {
    const id = `${b.id}:progress:${b.progressCount + 1}`
    enqueueCallback(b.callbacks.progress, cb('progress'), id, c)
    b.progressCount += 1
    b.progressJobId = id
  }
  if (b.pending === 0) b = finishBatch(b, c)
  c.batches.set(b.id, b)
  c.progressed(b)
}

/** `cancelBatch`: members that have not started are cancelled; running ones finish. */
export function cancelBatch(batch: StoredBatch, members: StoredJob[], c: Changes): void {
  if (batch.state !== 'running') return
  let b: StoredBatch = { ...batch, state: 'cancelled' }
  for (const m of members) b = countStopped(b, m, stopMember(m, c))
  c.emit({ kind: 'batch:cancelled', batchId: b.id, state: c.view(b) })
  if (b.pending === 0) b = finishBatch(b, c)
  c.batches.set(b.id, b)
}

/** Counts a member that `stopMember` has just ended (only a queued one ends at once). */
function countStopped(b: StoredBatch, before: StoredJob, after: StoredJob): StoredBatch {
  return notStarted(before) ? count(b, after.state) : b
}

function count(b: StoredBatch, state: JobState): StoredBatch {
  if (state === 'succeeded') b.succeeded += 1
  else if (state === 'failed') b.failed += 1
  else if (state === 'cancelled') b.cancelled += 1
  else return b
  b.pending -= 1
  return b
}

function finishBatch(b: StoredBatch, c: Changes): StoredBatch {
  const cb = (on: CallbackOf['on']): CallbackOf => ({ group: 'batch', id: b.id, on })
  const wasRunning = b.state === 'running'
  const state = !wasRunning ? b.state : b.failed > 0 ? 'failed' : b.cancelled > 0 ? 'cancelled' : 'succeeded'
  const done: StoredBatch = { ...b, state, finishedAt: c.now }
  if (wasRunning) {
    const kind = state === 'succeeded' ? 'batch:completed' : state === 'failed' ? 'batch:failed' : 'batch:cancelled'
    c.emit({ kind, batchId: b.id, state: c.view(done) })
  }
  if (state === 'succeeded') enqueueCallback(b.callbacks.success, cb('success'), callbackId(b, 'success'), c)
  enqueueCallback(b.callbacks.settled, cb('settled'), callbackId(b, 'settled'), c, b.error)
  return done
}
