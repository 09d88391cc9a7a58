/**
 * The public types of ferry.
 *
 * Terminology:
 * - **job**: one unit of background work: a `type` naming its handler and a `payload`.
 * - **queue**: a named lane of jobs (`'default'` unless a spec says `onQueue`). An engine works
 *   the queues listed in its options.
 * - **engine**: what `createQueue` returns once started: it claims ready jobs from the store and
 *   runs their handlers. Several engines (tabs, workers, processes) may share one store.
 * - **attempt**: one run of a handler. A job has `maxAttempts = retry + 1`.
 * - **lease**: a claim on a job by one engine, `{ owner, token, until }`. It is renewed while the
 *   handler runs; a job whose lease expired is claimed again (it *stalled*).
 * - **token**: a fencing token written by a claim. Settling a job checks it, so a late result
 *   from an engine that lost its lease changes nothing.
 * - **settle**: record the outcome of an attempt: succeeded, retry later, failed for good,
 *   deferred without spending the attempt, skipped, or released on stop.
 * - **chain**: jobs that run one after another; a step is `blocked` until its predecessor
 *   succeeds. **batch**: jobs that run side by side and report when all are done.
 * - **callback**: a job enqueued by a chain or batch transition (`onSuccess`, `onError`,
 *   `onSettled`, `onProgress`). Callbacks are ordinary, durable jobs.
 *
 * @module
 */

/**
 * How the engine ended an attempt, as `Instrumentation.attemptEnded` hears it:
 * - `succeeded`: the handler returned and the engine settles the job with its result;
 * - `retrying` / `failed`: it failed with attempts left / for good (its last attempt, or
 *   an `UnrecoverableError`; a timeout is a failure too);
 * - `deferred`: back to the queue without spending the attempt (`JobDeferredError`, a rate
 *   limit, a stop past its timeout, or a failure while offline of a job of network mode
 *   `'online'` / `'offlineFirst'`);
 * - `skipped`, `cancelled`;
 * - `lost`: the engine lost the job's lease; it is taken for stalled and runs again.
 */
export type AttemptEndOutcome = 'succeeded' | 'retrying' | 'failed' | 'deferred' | 'skipped' | 'cancelled' | 'lost'

export interface AttemptEnd {
  outcome: AttemptEndOutcome
  /** What the engine stores as the attempt's error (`retrying`, `failed`), or why the lease was lost (`lost`). */
  error?: SerializedError
}

/** Maps each job type to its payload type: `{ 'email:send': { to: string } }`. */
export type JobMap = Record<string, unknown>

export type JobState =
  | 'blocked'
  | 'waiting'
  | 'delayed'
  | 'active'
  | 'succeeded'
  | 'failed'
  | 'cancelled'

export type FinishedState = 'succeeded' | 'failed' | 'cancelled'

export type Backoff =
  | { type: 'fixed'; delay: number }
  | { type: 'exponential'; base: number; max?: number; jitter?: boolean }

/**
 * Small, JSON-safe facts about a job, set by `job(...).meta()` and by instrumentation (a W3C
 * `traceparent`), kept on its record and given to its handler as `ctx.meta`.
 */
export type JobMeta = Record<string, string | number | boolean>

/** An error as it is stored and sent across threads. */
export interface SerializedError {
  name: string
  message: string
  code?: string
  stack?: string
  /**
   * The error's other own properties whose values are plain (strings, booleans, finite numbers,
   * null): the `delayMs` of a `JobDeferredError`, the `pid` of a `StoreLockedError`, an HTTP
   * `status`. Objects are left out, so the form stays small and JSON.
   */
  data?: Record<string, string | number | boolean | null>
  /**
   * Set only in storage, by a queue with a `codec`: the encoded `message`, `stack` and `data`,
   * while `name` and `code` stay readable and `message` is empty. Reads decode it away.
   */
  encoded?: unknown
}

export interface JobRecord {
  id: string
  type: string
  queue: string
  payload: unknown
  state: JobState
  priority: number
  /** Attempts started so far (1 while the first attempt runs). */
  attempt: number
  maxAttempts: number
  runAt: number
  createdAt: number
  startedAt?: number
  finishedAt?: number
  result?: unknown
  error?: SerializedError
  progress?: unknown
  chainId?: string
  batchId?: string
  uniqueKey?: string
  /**
   * Why part of the record could not be read: a field the queue's codec could not decode (a
   * wrong key: code `DECODE_FAILED`), or a stored record that is damaged (code
   * `CORRUPT_RECORD`). The fields that could not be read are left out. An engine that claims
   * such a job fails it with this error instead of running its handler.
   */
  unreadable?: SerializedError
  /** What `job(...).meta()` and the queue's instrumentation stored with the job. */
  meta?: JobMeta
  /** The `version` of the queue that dispatched the job. */
  dispatchedBy?: string
  /** The `version` of the engine that started the job's last attempt. */
  processedBy?: string
}

export interface Counts {
  blocked: number
  waiting: number
  delayed: number
  active: number
  succeeded: number
  failed: number
  cancelled: number
}

export type GroupState = 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface BatchState {
  id: string
  name?: string
  state: GroupState
  total: number
  pending: number
  succeeded: number
  failed: number
  cancelled: number
  jobIds: string[]
  createdAt: number
  finishedAt?: number
}

export interface ChainState {
  id: string
  state: GroupState
  steps: { jobId: string; type: string; state: JobState }[]
  /** Index of the step that runs now (or ran last, once the chain is finished). */
  current: number
  createdAt: number
  finishedAt?: number
}

export interface DispatchResult {
  id: string
  /** True when nothing was written: the id existed, or a unique job was still fresh. */
  duplicate: boolean
}

export interface JobFilter {
  state?: JobState | JobState[]
  type?: string | string[]
  queue?: string | string[]
  batchId?: string
  chainId?: string
  /** Jobs dispatched by this version, or whose last attempt ran on it (`dispatchedBy`, `processedBy`). */
  version?: string
  /** @default 100 */
  limit?: number
  /** Jobs to skip, for paging. @default 0 */
  offset?: number
}

/**
 * Time, replaceable so tests can drive it by hand.
 * @example const clock: Clock = { now: Date.now, setTimeout, clearTimeout }
 */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface JobContext {
  id: string
  type: string
  queue: string
  /** 1-based. */
  attempt: number
  maxAttempts: number
  /** Aborted on timeout, lease loss, `stop()` past its timeout, and `cancel`. */
  signal: AbortSignal
  chainId?: string
  batchId?: string
  /** In a chain: the result of the step before. */
  previousResult?: unknown
  /** In a batch callback job. */
  batch?: BatchState
  /** In a chain callback job. */
  chain?: ChainState
  /** In an `onError` callback job: the error that failed the chain or batch. */
  error?: SerializedError
  /**
   * The job's metadata: what `job(...).meta()` set and what the queue's instrumentation stored
   * at dispatch. A callback job of a chain or batch inherits the metadata its group's jobs share.
   */
  meta?: JobMeta
  /** When the job was dispatched (its record's `createdAt`). */
  createdAt: number
  /** When the job became ready to run: the later of its `runAt` and its dispatch. */
  readyAt: number
  /** Stores a progress value on the job and emits `job:progress`. */
  progress(value: number | Record<string, unknown>): Promise<void>
}

export type Handler<P> = (payload: P, ctx: JobContext) => unknown

export type Middleware = (ctx: JobContext, next: () => Promise<unknown>) => Promise<unknown>

/** Something that can be listened to: `subscribe` returns the function that stops listening. */
export interface Subscribable<T> {
  subscribe(listener: (value: T) => void): () => void
}

type EventOf<K extends string, F> = { kind: K; at: number } & F

/** Every event is emitted after the change it reports is committed. */
export type QueueEvent =
  | EventOf<'job:dispatched', { jobId: string; type: string; queue: string; chainId?: string; batchId?: string }>
  /**
   * A delayed job's time came (its delay, retry backoff or deferral ran out): it is `waiting`
   * now. Emitted on time by a running engine that works the job's queue, even while that queue
   * is paused or every slot is busy.
   */
  | EventOf<'job:waiting', { jobId: string; type: string; queue: string }>
  /** `readyAt`: when the job became ready to run (the later of its `runAt` and its dispatch); the wait is `at - readyAt`. */
  | EventOf<'job:started', { jobId: string; type: string; queue: string; attempt: number; readyAt?: number }>
  | EventOf<'job:progress', { jobId: string; progress: unknown }>
  | EventOf<'job:succeeded', { jobId: string; type: string; result?: unknown }>
  | EventOf<'job:retrying', { jobId: string; type: string; attempt: number; error: SerializedError; retryAt: number }>
  | EventOf<'job:failed', { jobId: string; type: string; attempt: number; error: SerializedError }>
  | EventOf<'job:stalled', { jobId: string; type: string }>
  | EventOf<'job:cancelled', { jobId: string; type: string }>
  | EventOf<'job:skipped', { jobId: string; type: string }>
  /** A middleware put the job back without spending its attempt (rate limit, overlap). */
  | EventOf<'job:deferred', { jobId: string; type: string; runAt: number }>
  | EventOf<'lease:lost', { jobId: string }>
  | EventOf<'chain:started' | 'chain:advanced' | 'chain:completed' | 'chain:failed' | 'chain:cancelled', { chainId: string; jobId?: string }>
  | EventOf<'batch:started' | 'batch:progressed' | 'batch:completed' | 'batch:failed' | 'batch:cancelled', { batchId: string; state: BatchState }>
  | EventOf<'queue:paused' | 'queue:resumed', { queue?: string }>
  /** The engine's connectivity changed: jobs of network mode `'online'` wait while offline. */
  | EventOf<'queue:offline' | 'queue:online', object>
  | EventOf<'queue:error', { queue?: string; error: SerializedError }>

export type QueueEventKind = QueueEvent['kind']

/**
 * What watching a queue needs: its events and its read side. A `Queue` is one, and so is a
 * `QueueClient` of a queue hosted in a worker; `ferry/observable` works on either.
 */
export interface QueueLike {
  readonly events: Subscribable<QueueEvent>
  getJob(id: string): Promise<JobRecord | undefined>
  findBatch(id: string): Promise<BatchState>
  findChain(id: string): Promise<ChainState>
  counts(): Promise<Counts>
}
