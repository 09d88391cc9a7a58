/**
 * `createQueue()`: the producer, admin and engine API over one store.
 *
 * @module
 */
import { batchBuilder, chainBuilder, type BatchBuilder, type BuilderHost, type ChainBuilder } from './builders.js'
import { settlesWithin, systemClock } from './clock.js'
import { checkConnectivity, checkNetworkMode, defaultConnectivity, type Connectivity, type NetworkMode, type RegisterOptions } from './connectivity.js'
import { present } from './define-store.js'
import { Emitter } from './emitter.js'
import { InvalidArgumentError, NotFoundError, QueueClosedError, QueueError, serializeError } from './errors.js'
import { needsPrepare, nonEmpty, prepareSpecs, type SpecOf } from './job-spec.js'
import { memoryStore } from './memory-store.js'
import { observing } from './middleware.js'
import { checkDefaults, dispatchedJob, resolveCallback, resolveSpec, type Drawn, type JobDefaults } from './resolve-spec.js'
import { newSchedule, scheduleInfo, type ScheduleInfo, type ScheduleOptions } from './schedule.js'
import { Runner } from './runner.js'
import { checkRetention, type Retention } from './retention.js'
import { withCodec, withRecordChecks, type Codec } from './codec.js'
import type { ClaimOrder, NewBatch, NewChain, Store, StoredJob } from './store.js'
import { checkInstrumentation, instrumented, queuesOf, type DispatchCall, type DispatchedJob, type Instrumentation } from './instrumentation.js'
import type {
  BatchState,
  ChainState,
  Clock,
  Counts,
  DispatchResult,
  Handler,
  JobFilter,
  JobMap,
  JobMeta,
  JobRecord,
  Middleware,
  QueueEvent,
  Subscribable,
} from './types.js'

export interface QueueOptions {
  /** Where jobs live. @default memoryStore() */
  store?: Store
  /** The queues this engine works. @default ['default'] */
  queues?: string[]
  /** Attempts run at the same time. @default 1 */
  concurrency?: number
  /** How long a claim holds a job; renewed while the handler runs. @default 30_000 */
  leaseMs?: number
  /** Defaults for jobs whose spec does not say. */
  defaults?: JobDefaults
  /** Wraps every attempt, the first outermost. */
  middleware?: Middleware[]
  /** Time and timers. @default the store's `clock`, else the system clock */
  clock?: Clock
  /**
   * What the engine knows of the network (see `register`'s `network`). @default
   * `browserConnectivity()` where `navigator.onLine` exists, else always online
   */
  connectivity?: Connectivity
  /**
   * What the engine keeps of finished jobs, per finished state: the newest `count` (by
   * `finishedAt`) and none older than `ageMs`; with both, a job goes when either says so. A
   * chain or batch keeps all its jobs while it runs, and goes whole once retention picks any of
   * them. Applied in small slices inside the store calls the engine makes anyway: no timer, so
   * an idle engine stays idle and an age passed meanwhile is applied at the next work.
   * `retentionDefaults.browser` and `.node` are suggested settings.
   * @default keep everything
   */
  retention?: Retention
  /**
   * Encodes payloads, results, progress and errors before they are stored, and decodes them
   * after they are read: `encryptedCodec(key)` encrypts them. Ids, types, states and times stay
   * readable.
   */
  codec?: Codec
  /**
   * The version of the application's code (a release, a git hash): each record keeps the
   * version that dispatched it (`dispatchedBy`) and the one that ran its last attempt
   * (`processedBy`); `listJobs({ version })` finds them.
   */
  version?: string
  /**
   * Which ready job this engine claims first: `'priority'` (higher priority, then earlier
   * `runAt`, then dispatch order) or `'runAt'` (the earliest ready time first, then priority,
   * then dispatch order). @default 'priority'
   */
  order?: ClaimOrder
  /** Observers of dispatches and attempts, such as `tracing()` of `ferry/otel`; the first outermost. */
  instrumentation?: Instrumentation[]
}

export interface Queue<J extends JobMap = JobMap> {
  /**
   * The handler for a job type. Its return value is the job's result. `network: 'online'`
   * claims the type only while online; with it or `'offlineFirst'`, an attempt that fails
   * while offline goes back without spending the attempt.
   */
  register<T extends keyof J & string>(type: T, handler: Handler<J[T]>, options?: RegisterOptions): void
  /** Resolves once the job is committed. A known id or a held unique key writes nothing. */
  dispatch(spec: SpecOf<J>, opts?: { tx?: unknown }): Promise<DispatchResult>
  /** Dispatches all in one transaction: all are written or none. */
  dispatchMany(specs: SpecOf<J>[], opts?: { tx?: unknown }): Promise<DispatchResult[]>
  chain(...specs: SpecOf<J>[]): ChainBuilder
  batch(...specs: SpecOf<J>[]): BatchBuilder

  /**
   * Enqueues `spec` at every occurrence of `when`: a cron expression (`'0 3 * * *'`,
   * `'@daily'`, `'@every 5m'`) or `{ every: ms }`. Kept in the store; calling it again with the
   * same name updates the schedule (and keeps its next run if the timing is unchanged).
   */
  schedule(name: string, when: string | { every: number }, spec: SpecOf<J>, opts?: ScheduleOptions): Promise<void>
  /** Removes a schedule. Jobs it already enqueued stay. */
  unschedule(name: string): Promise<void>
  /** Every schedule with its next run, by name. */
  listSchedules(): Promise<ScheduleInfo[]>

  /** Starts claiming and running jobs. */
  start(): Promise<void>
  /**
   * Runs until no job is ready now (delayed jobs, retries in backoff and network-bound jobs
   * while offline are not), then resolves. Works with or without `start()` and leaves the
   * engine as it found it. Rejects with a `QueueError` of code `DRAIN_TIMEOUT` once
   * `timeoutMs` (real time) has passed; an engine it started then stops.
   */
  drain(opts?: { timeoutMs?: number }): Promise<void>
  /**
   * Stops claiming; waits for running attempts up to `timeoutMs` (default 10 s, counted in real
   * time whatever the clock), then aborts them and releases their jobs. Outcomes the store has
   * not taken by then get as long again, less if a store call fails: then they are given up
   * (reported as `queue:error`; their jobs are claimed again once their leases run out), so
   * `stop` resolves even when the store never recovers. `start()` runs the queue again.
   */
  stop(opts?: { timeoutMs?: number }): Promise<void>
  /** Stops (bounded by `timeoutMs` the same way), then closes the store. Later calls reject with `QueueClosedError`. */
  close(opts?: { timeoutMs?: number }): Promise<void>
  /** Stops claiming from one queue, or from all of this engine's queues. */
  pause(queue?: string): void
  resume(queue?: string): void
  /** The names of the queues paused now, sorted: what a view opened after `pause` shows. */
  pausedQueues(): string[]

  getJob(id: string): Promise<JobRecord | undefined>
  listJobs(filter?: JobFilter): Promise<JobRecord[]>
  counts(): Promise<Counts>
  /** Cancels a job that has not started; a running one is aborted. False when already finished or unknown. */
  cancel(id: string): Promise<boolean>
  /** A failed or cancelled job goes back to waiting with its attempts reset. */
  replay(id: string): Promise<boolean>
  /**
   * A failed chain runs again from its failed step on, in one transaction: that step waits again
   * with its attempts reset (its `previousResult` kept), the steps after it are blocked again,
   * the chain is running, and its callbacks fire again, once, when this run ends.
   * `NotFoundError` when unknown; a `QueueError` of code `INVALID_STATE` when not failed.
   * A callback of the earlier run that has not run yet still runs, once, with that run's
   * `ctx.error`, but its `ctx.chain` shows the chain as it is when it runs.
   */
  replayChain(id: string): Promise<void>
  /**
   * A failed batch's failed and cancelled jobs wait again (attempts reset), in one transaction,
   * and the batch is running again; its callbacks fire again, once, when this run ends. Only a
   * batch whose run is over qualifies: while jobs that were running when it failed still run, it
   * rejects with a `QueueError` of code `INVALID_STATE`, as for a batch that is not failed
   * (`cancelBatch` does not fail a batch). `NotFoundError` when unknown. A callback of the
   * earlier run that has not run yet still runs, once, but its `ctx.batch` shows the batch as it
   * is when it runs.
   */
  replayBatch(id: string): Promise<void>
  findBatch(id: string): Promise<BatchState>
  findChain(id: string): Promise<ChainState>
  cancelBatch(id: string): Promise<void>
  /** Deletes jobs, chains and batches finished before `olderThan`. Returns the jobs deleted. */
  prune(olderThan: Date | number): Promise<number>

  readonly events: Subscribable<QueueEvent>
  /** Whether the engine's connectivity says it is online now. */
  readonly online: boolean
}

export type { ScheduleInfo, ScheduleOptions }

/**
 * A queue over a store, typed by its job map.
 * @example
 * const queue = createQueue<{ 'email:send': { to: string } }>({ concurrency: 4 })
 * queue.register('email:send', async ({ to }) => send(to))
 * await queue.start()
 * await queue.dispatch(job('email:send', { to: 'a@b.c' }))
 */
export function createQueue<J extends JobMap = JobMap>(options: QueueOptions = {}): Queue<J> {
  return new QueueImpl<J>(options)
}

const runners = new WeakMap<object, Runner>()

/** A queue's dispatches without its instrumentation: see `relayed`. */
export type Relay = Pick<Queue, 'dispatchMany' | 'chain' | 'batch'>
const relays = new WeakMap<object, Relay>()

/**
 * The dispatches of a queue made by `createQueue` that skip its instrumentation, for a host
 * serving clients that ran their own (`connectQueue(worker, { instrumentation })`): a dispatch
 * is instrumented once, where it was called. Undefined for any other object. Not part of the
 * public API.
 */
export function relayed(queue: object): Relay | undefined {
  return relays.get(queue)
}

/** The `timeoutMs` of stop and close, checked. */
function stopTimeout(opts?: { timeoutMs?: number }): number {
  const timeoutMs = opts?.timeoutMs ?? 10_000
  if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be a number of ms >= 0, got ${timeoutMs}`)
  return timeoutMs
}

/** The longest `version` a queue takes. */
const VERSION_MAX_LENGTH = 200

/** A queue's `version`: a non-empty, well-formed string of at most `VERSION_MAX_LENGTH` characters. */
function checkVersion(version: unknown): string {
  nonEmpty('version', version as string)
  if ((version as string).length > VERSION_MAX_LENGTH) {
    throw new InvalidArgumentError(`version must be at most ${VERSION_MAX_LENGTH} characters, got ${(version as string).length}`)
  }
  return version as string
}

function checkOrder(order: unknown): ClaimOrder | undefined {
  if (order === undefined || order === 'priority' || order === 'runAt') return order
  throw new InvalidArgumentError(`order must be 'priority' or 'runAt', got ${typeof order === 'string' ? order : typeof order}`)
}

/** Events after which an engine may have something new to claim. */
const WAKING: ReadonlySet<QueueEvent['kind']> = new Set(['job:dispatched', 'chain:advanced', 'job:retrying', 'job:deferred'])

/** The activity of a queue's loop, for `ferry/testing`; not part of the public API. */
export function engineActivity(queue: object): ReturnType<Runner['activity']> {
  const r = runners.get(queue)
  if (!r) throw new InvalidArgumentError('not a queue made by createQueue')
  return r.activity()
}

class QueueImpl<J extends JobMap> implements Queue<J> {
  readonly #store: Store
  readonly #clock: Clock
  readonly #queues: string[]
  readonly #defaults: JobDefaults
  readonly #handlers = new Map<string, Handler<unknown>>()
  readonly #network = new Map<string, NetworkMode>()
  #online: boolean
  readonly #connectivity: Connectivity
  readonly #unlisten: () => void
  /** The engine runs because a drain started it: the last drain to end stops it. */
  #drainStarted = false
  /** Drains under way. */
  #drains = 0
  readonly #paused = new Set<string>()
  readonly #emitter: Emitter<QueueEvent>
  readonly #runner: Runner
  readonly #unwatch: (() => void) | undefined
  readonly #instrumentation: Instrumentation[]
  readonly #version: string | undefined
  #closed = false
  /** Set once close() begins: from then on the engine cannot start again. */
  #closing: Promise<void> | undefined

  constructor(o: QueueOptions) {
    const concurrency = o.concurrency ?? 1
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`concurrency must be a whole number >= 1, got ${concurrency}`)
    }
    const leaseMs = o.leaseMs ?? 30_000
    if (!(leaseMs > 0)) throw new InvalidArgumentError(`leaseMs must be > 0, got ${leaseMs}`)
    this.#queues = [...(o.queues ?? ['default'])]
    if (this.#queues.length === 0) throw new InvalidArgumentError('queues must name at least one queue')
    const store = o.store ?? memoryStore()
    this.#store = o.codec === undefined ? withRecordChecks(store) : withCodec(store, o.codec)
    this.#clock = o.clock ?? store.clock ?? systemClock
    this.#defaults = checkDefaults(o.defaults)
    this.#instrumentation = checkInstrumentation(o.instrumentation)
    this.#version = o.version === undefined ? undefined : checkVersion(o.version)
    const order = checkOrder(o.order)
    const connectivity = o.connectivity === undefined ? defaultConnectivity() : checkConnectivity(o.connectivity)
    this.#connectivity = connectivity
    this.#online = connectivity.online
    this.#emitter = new Emitter<QueueEvent>((err, event) => {
      // A listener that throws must not break the engine; others hear of it, once.
      if (event.kind !== 'queue:error') this.#emitter.emit({ kind: 'queue:error', at: this.#clock.now(), error: serializeError(err) })
    })
    this.#runner = new Runner({
      store: this.#store,
      clock: this.#clock,
      queues: this.#queues,
      concurrency,
      leaseMs,
      retention: checkRetention(o.retention),
      ...(order ? { order } : {}),
      ...(this.#version !== undefined ? { version: this.#version } : {}),
      // An instrumentation's middleware observes: its faults are reported, never the job's.
      middleware: [
        ...this.#instrumentation.flatMap((i) => (i.middleware ? [observing(i.middleware, (error) => this.#reportError(error))] : [])),
        ...(o.middleware ?? []),
      ],
      handlers: this.#handlers,
      network: this.#network,
      online: () => this.#readOnline(),
      paused: this.#paused,
      emit: (events) => this.#emit(events),
      emitCommitted: (events) => this.#emitCommitted(events),
      reportError: (error) => this.#reportError(error),
    })
    runners.set(this, this.#runner)
    relays.set(this, {
      dispatchMany: (specs, opts) => this.#dispatch('jobs', specs, opts, false),
      chain: (...specs) => chainBuilder(this.#builderHost(false), { specs }),
      batch: (...specs) => batchBuilder(this.#builderHost(false), { specs }),
    })
    const unlisten: unknown = connectivity.subscribe((online) => this.#connectivityChanged(online))
    if (typeof unlisten !== 'function') throw new InvalidArgumentError("connectivity.subscribe must return the function that stops listening")
    this.#unlisten = unlisten as () => void
    // A store that can be watched tells of every commit on it, this queue's and others'.
    this.#unwatch = this.#store.watch?.((events) => {
      this.#emit(events)
      if (this.#runner.running && (events.length === 0 || events.some((e) => WAKING.has(e.kind)))) this.#runner.kick(events)
      this.#runner.noticed(events)
    })
  }

  get events(): Subscribable<QueueEvent> {
    return this.#emitter
  }

  #emit(events: QueueEvent[]): void {
    for (const e of events) this.#emitter.emit(e)
  }

  /** The events of a write this queue made: the store's watch has emitted them, if it has one. */
  #emitCommitted(events: QueueEvent[]): void {
    if (this.#unwatch) return
    this.#emit(events)
    // What the watch would have told the engine: a job it claimed ahead may be cancelled.
    this.#runner.noticed(events)
  }

  #connectivityChanged(online: boolean): void {
    if (this.#closed || online === this.#online) return
    this.#online = online
    this.#emit([{ kind: online ? 'queue:online' : 'queue:offline', at: this.#clock.now() }])
    this.#runner.connectivity(online)
  }

  get online(): boolean {
    return this.#readOnline()
  }

  /**
   * The connectivity's state now. A change it has not told of yet (Chromium changes a worker's
   * `navigator.onLine` without an event) is taken as told.
   */
  #readOnline(): boolean {
    let online: boolean
    try {
      online = this.#connectivity.online
    } catch {
      return this.#online
    }
    if (typeof online === 'boolean' && online !== this.#online) this.#connectivityChanged(online)
    return this.#online
  }

  #open(): void {
    if (this.#closed) throw new QueueClosedError('the queue is closed')
  }

  register<T extends keyof J & string>(type: T, handler: Handler<J[T]>, options?: RegisterOptions): void {
    if (typeof handler !== 'function') throw new InvalidArgumentError(`the handler for ${type} must be a function`)
    const network = checkNetworkMode(options?.network)
    this.#handlers.set(type, handler as Handler<unknown>)
    this.#network.set(type, network)
    this.#runner.scopeChanged(type)
    if (this.#runner.running) this.#runner.kick()
  }

  async dispatch(spec: SpecOf<J>, opts?: { tx?: unknown }): Promise<DispatchResult> {
    const [result] = await this.#dispatch('job', [spec], opts, true)
    return result as DispatchResult
  }

  dispatchMany(specs: SpecOf<J>[], opts?: { tx?: unknown }): Promise<DispatchResult[]> {
    return this.#dispatch('jobs', specs, opts, true)
  }

  /**
   * Writes the specs' jobs. Synchronous up to the instrumentation's `onDispatch` calls, so that
   * they see the caller's context: ids are drawn first, payloads made at dispatch awaited after.
   */
  async #dispatch(kind: 'job' | 'jobs', specs: readonly unknown[], opts: { tx?: unknown } | undefined, instrument: boolean): Promise<DispatchResult[]> {
    this.#open()
    if (specs.length === 0) return []
    const drawn = specs.map((s) => dispatchedJob(s))
    return this.#instrumented(instrument, { kind, count: drawn.length, queues: queuesOf(drawn) }, drawn, async (meta) => {
      const made = needsPrepare(specs) ? await prepareSpecs(specs, opts) : specs
      const now = this.#clock.now()
      const jobs = made.map((s, i) => resolveSpec(s, now, this.#defaults, 'default', this.#drawn(drawn[i] as DispatchedJob, meta[i])))
      const out = await this.#store.insert({ now, jobs }, opts)
      this.#afterWrite(out.events)
      return out.results
    })
  }

  /** Runs a dispatch inside the instrumentation (see `instrumented`); its faults are reported as `queue:error`. */
  #instrumented<T>(instrument: boolean, call: DispatchCall, jobs: readonly DispatchedJob[], write: (meta: Array<JobMeta | undefined>) => Promise<T>): Promise<T> {
    return instrumented(instrument ? this.#instrumentation : [], call, jobs, (error) => this.#reportError(error), write)
  }

  #drawn(j: DispatchedJob, meta: JobMeta | undefined): Drawn {
    return { id: j.id, meta, dispatchedBy: this.#version }
  }

  #reportError(error: unknown): void {
    this.#emit([{ kind: 'queue:error', at: this.#clock.now(), error: serializeError(error) }])
  }

  chain(...specs: SpecOf<J>[]): ChainBuilder {
    return chainBuilder(this.#builderHost(true), { specs })
  }

  batch(...specs: SpecOf<J>[]): BatchBuilder {
    return batchBuilder(this.#builderHost(true), { specs })
  }

  #builderHost(instrument: boolean): BuilderHost {
    return {
      now: () => this.#clock.now(),
      defaults: this.#defaults,
      version: this.#version,
      dispatching: (call, jobs, write) => {
        this.#open()
        return this.#instrumented(instrument, call, jobs, write)
      },
      insertChain: async (chain: NewChain, opts?: { tx?: unknown }) => {
        this.#open()
        const now = this.#clock.now()
        this.#afterWrite((await this.#store.insert({ now, jobs: [], chains: [chain] }, opts)).events)
      },
      insertBatch: async (batch: NewBatch, opts?: { tx?: unknown }) => {
        this.#open()
        const now = this.#clock.now()
        this.#afterWrite((await this.#store.insert({ now, jobs: [], batches: [batch] }, opts)).events)
      },
    }
  }

  #afterWrite(events: QueueEvent[]): void {
    this.#emitCommitted(events)
    // A store that can be watched has woken the runner already.
    if (this.#runner.running && events.length > 0 && !this.#unwatch) this.#runner.kick()
  }

  async schedule(name: string, when: string | { every: number }, spec: SpecOf<J>, opts: ScheduleOptions = {}): Promise<void> {
    this.#open()
    const [made] = needsPrepare([spec]) ? await prepareSpecs([spec]) : [spec]
    const now = this.#clock.now()
    await this.#store.putSchedule({ now, schedule: newSchedule(name, when, resolveCallback(made, this.#defaults, undefined, this.#version), opts, now) })
    if (this.#runner.running) this.#runner.kick()
  }

  async unschedule(name: string): Promise<void> {
    this.#open()
    await this.#store.deleteSchedule(name)
  }

  async listSchedules(): Promise<ScheduleInfo[]> {
    this.#open()
    return (await this.#store.listSchedules()).map(scheduleInfo)
  }

  async start(): Promise<void> {
    if (this.#closing) throw new QueueClosedError('the queue is closed')
    this.#open()
    // Started by the application: a drain under way leaves it running.
    this.#drainStarted = false
    this.#runner.start()
  }

  async drain(opts?: { timeoutMs?: number }): Promise<void> {
    const timeoutMs = opts?.timeoutMs
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be a number of ms >= 0, got ${timeoutMs}`)
    if (this.#closing) throw new QueueClosedError('the queue is closed')
    this.#open()
    if (!this.#runner.running) {
      this.#drainStarted = true
      this.#runner.start()
    }
    this.#drains++
    const last = (): boolean => {
      // The last drain to end stops an engine drains started, unless the application started it meanwhile.
      if (--this.#drains > 0 || !this.#drainStarted || !this.#runner.running) return false
      this.#drainStarted = false
      return true
    }
    let quiet: boolean | undefined
    const done = this.#runner.quiet().then((q) => void (quiet = q))
    if (timeoutMs === undefined ? (await done, true) : await settlesWithin(systemClock, timeoutMs, done)) {
      if (last()) await this.#runner.stop(stopTimeout())
      if (!quiet) throw new QueueError('the queue stopped before drain finished', { code: 'DRAIN_STOPPED' })
      return
    }
    // Its attempts wind down in the background as after stop(); the caller hears now.
    if (last()) void this.#runner.stop(stopTimeout())
    throw new QueueError(`drain did not finish within ${timeoutMs} ms`, { code: 'DRAIN_TIMEOUT' })
  }

  async stop(opts?: { timeoutMs?: number }): Promise<void> {
    const timeoutMs = stopTimeout(opts)
    this.#drainStarted = false
    await this.#runner.stop(timeoutMs)
  }

  async close(opts?: { timeoutMs?: number }): Promise<void> {
    if (this.#closed) return
    if (!this.#closing) {
      const timeoutMs = stopTimeout(opts)
      // Set before the first await: a start() from here on rejects, so no engine outlives the store.
      this.#closing = (async () => {
        await this.#runner.stop(timeoutMs)
        this.#closed = true
        this.#runner.close()
        // What the application gave (a connectivity) may throw: the store closes all the same.
        for (const end of [this.#unwatch, this.#unlisten]) {
          try {
            end?.()
          } catch (err) {
            this.#emit([{ kind: 'queue:error', at: this.#clock.now(), error: serializeError(err) }])
          }
        }
        await this.#store.close()
      })()
    }
    // A second close while the first runs waits for it.
    await this.#closing
  }

  pause(queue?: string): void {
    for (const q of this.#named(queue)) {
      if (this.#paused.has(q)) continue
      this.#paused.add(q)
      this.#emit([{ kind: 'queue:paused', at: this.#clock.now(), queue: q }])
    }
    // Jobs of a paused queue claimed ahead go back to it at once.
    this.#runner.paused()
  }

  resume(queue?: string): void {
    for (const q of this.#named(queue)) {
      if (!this.#paused.delete(q)) continue
      this.#emit([{ kind: 'queue:resumed', at: this.#clock.now(), queue: q }])
    }
    this.#runner.scopeChanged()
  }

  /** The queues `pause` or `resume` acts on: the one named (a name a worker or a tab sent is checked), or all. */
  #named(queue: string | undefined): readonly string[] {
    this.#open()
    return queue === undefined ? this.#queues : [nonEmpty('queue name', queue)]
  }

  pausedQueues(): string[] {
    return [...this.#paused].sort()
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    this.#open()
    const j = await this.#store.getJob(id)
    return j && this.#record(j)
  }

  async listJobs(filter: JobFilter = {}): Promise<JobRecord[]> {
    this.#open()
    if (filter.version !== undefined) nonEmpty('version', filter.version)
    const now = this.#clock.now()
    return (await this.#store.listJobs(filter, now)).map((j) => this.#record(j, now))
  }

  async counts(): Promise<Counts> {
    this.#open()
    return this.#store.counts(this.#clock.now())
  }

  async cancel(id: string): Promise<boolean> {
    this.#open()
    const out = await this.#store.cancel({ now: this.#clock.now(), jobIds: [id] })
    this.#emitCommitted(out.events)
    if (out.requested.includes(id) || out.cancelled.includes(id)) this.#runner.cancelled(id)
    return out.cancelled.includes(id) || out.requested.includes(id)
  }

  async replay(id: string): Promise<boolean> {
    this.#open()
    const out = await this.#store.replay({ now: this.#clock.now(), id })
    this.#afterWrite(out.events)
    return out.replayed
  }

  async replayChain(id: string): Promise<void> {
    await this.#replayGroup('chain', id)
  }

  async replayBatch(id: string): Promise<void> {
    await this.#replayGroup('batch', id)
  }

  async #replayGroup(group: 'chain' | 'batch', id: string): Promise<void> {
    this.#open()
    nonEmpty(`${group} id`, id)
    if (!this.#store.replayGroup) throw new QueueError(`this store cannot replay a ${group}`, { code: 'UNSUPPORTED' })
    const out = await this.#store.replayGroup({ now: this.#clock.now(), group, id })
    this.#afterWrite(out.events)
  }

  async findBatch(id: string): Promise<BatchState> {
    this.#open()
    const b = await this.#store.getBatch(id)
    if (!b) throw new NotFoundError(`no batch with id ${id}`)
    return b
  }

  async findChain(id: string): Promise<ChainState> {
    this.#open()
    const c = await this.#store.getChain(id)
    if (!c) throw new NotFoundError(`no chain with id ${id}`)
    return c
  }

  async cancelBatch(id: string): Promise<void> {
    this.#open()
    if (!(await this.#store.getBatch(id))) throw new NotFoundError(`no batch with id ${id}`)
    const out = await this.#store.cancel({ now: this.#clock.now(), batchId: id })
    // Members this engine claimed ahead are dropped, or their handlers stopped, at once.
    for (const jobId of out.requested) this.#runner.cancelled(jobId)
    this.#afterWrite(out.events)
  }

  async prune(olderThan: Date | number): Promise<number> {
    this.#open()
    const before = olderThan instanceof Date ? olderThan.getTime() : olderThan
    if (!Number.isFinite(before)) throw new InvalidArgumentError('prune needs a date or a time in ms')
    return this.#store.prune({ before })
  }

  #record(j: StoredJob, now = this.#clock.now()): JobRecord {
    const r: JobRecord = {
      id: j.id,
      type: j.type,
      queue: j.queue,
      payload: j.payload,
      state: present(j, now),
      priority: j.priority,
      attempt: j.attempt,
      maxAttempts: j.maxAttempts,
      runAt: j.runAt,
      createdAt: j.createdAt,
    }
    const optional = ['startedAt', 'finishedAt', 'result', 'error', 'progress', 'chainId', 'batchId', 'uniqueKey', 'unreadable', 'meta', 'dispatchedBy', 'processedBy'] as const
    for (const k of optional) if (j[k] !== undefined) (r as unknown as Record<string, unknown>)[k] = j[k]
    return r
  }
}
