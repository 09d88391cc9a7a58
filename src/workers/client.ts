/**
 * `QueueClient`: the producer and admin API of a queue that runs elsewhere, over a transport
 * (a worker of this page, or whichever tab hosts the queue). Specs and builders are turned
 * into plain data here and checked again where the queue runs.
 *
 * @module
 */
import { nanoid } from 'nanoid'
import { Emitter } from '../core/emitter.js'
import { InvalidArgumentError, QueueClosedError, SerializationError, serializeError } from '../core/errors.js'
import { checkInstrumentation, instrumented, queuesOf, type DispatchCall, type DispatchedJob, type Instrumentation } from '../core/instrumentation.js'
import { madeOptions as made, specOptions, type JobSpec, type SpecOf, type SpecOptions } from '../core/job-spec.js'
import { checkStorable } from '../core/storable.js'
import type { ScheduleInfo, ScheduleOptions } from '../core/queue.js'
import type {
  BatchState,
  ChainState,
  Counts,
  DispatchResult,
  JobFilter,
  JobMap,
  JobMeta,
  JobRecord,
  QueueEvent,
  QueueLike,
  Subscribable,
} from '../core/types.js'
import type { BatchPlan, ChainPlan, QueueApi } from './protocol.js'

type Callback = JobSpec<string, unknown>

export interface ClientChainBuilder {
  onQueue(name: string): ClientChainBuilder
  withId(id: string): ClientChainBuilder
  onSuccess(spec: Callback): ClientChainBuilder
  onError(spec: Callback): ClientChainBuilder
  onSettled(spec: Callback): ClientChainBuilder
  dispatch(): Promise<string>
}

export interface ClientBatchBuilder {
  name(name: string): ClientBatchBuilder
  withId(id: string): ClientBatchBuilder
  onQueue(name: string): ClientBatchBuilder
  allowFailures(): ClientBatchBuilder
  onProgress(spec: Callback): ClientBatchBuilder
  onSuccess(spec: Callback): ClientBatchBuilder
  onError(spec: Callback): ClientBatchBuilder
  onSettled(spec: Callback): ClientBatchBuilder
  dispatch(): Promise<string>
}

/** A queue that runs elsewhere: the API of a queue but `register`, `start` and `stop`. */
export interface QueueClient<J extends JobMap = JobMap> extends QueueLike {
  dispatch(spec: SpecOf<J>): Promise<DispatchResult>
  dispatchMany(specs: SpecOf<J>[]): Promise<DispatchResult[]>
  chain(...specs: SpecOf<J>[]): ClientChainBuilder
  batch(...specs: SpecOf<J>[]): ClientBatchBuilder
  schedule(name: string, when: string | { every: number }, spec: SpecOf<J>, opts?: ScheduleOptions): Promise<void>
  unschedule(name: string): Promise<void>
  listSchedules(): Promise<ScheduleInfo[]>
  getJob(id: string): Promise<JobRecord | undefined>
  listJobs(filter?: JobFilter): Promise<JobRecord[]>
  counts(): Promise<Counts>
  cancel(id: string): Promise<boolean>
  replay(id: string): Promise<boolean>
  /** A failed chain runs again from its failed step on (see `Queue.replayChain`). */
  replayChain(id: string): Promise<void>
  /** A failed batch's failed and cancelled jobs wait again (see `Queue.replayBatch`). */
  replayBatch(id: string): Promise<void>
  findBatch(id: string): Promise<BatchState>
  findChain(id: string): Promise<ChainState>
  cancelBatch(id: string): Promise<void>
  prune(olderThan: Date | number): Promise<number>
  pause(queue?: string): Promise<void>
  resume(queue?: string): Promise<void>
  /** The names of the host's queues paused now, sorted (see `Queue.pausedQueues`). */
  pausedQueues(): Promise<string[]>
  /**
   * Runs the hosted engine until nothing is ready now, then resolves (see `Queue.drain`):
   * rejects with the host's `DRAIN_TIMEOUT` error once `timeoutMs` has passed there.
   */
  drain(opts?: { timeoutMs?: number }): Promise<void>
  /**
   * Whether the host's engine is online: its connectivity is the one that counts, since it runs
   * the jobs. True until the host has told (at once after connecting), then kept current by its
   * `queue:online` / `queue:offline` events; when what the host says differs from what the
   * client showed (on connecting, or when another tab takes over hosting), the client emits the
   * matching event itself, so `events` tells of every change.
   */
  readonly online: boolean
  /** The hosted queue's events. */
  readonly events: Subscribable<QueueEvent>
  /** Releases what this client holds. Calls after it reject with `QueueClosedError`. */
  close(): Promise<void>
}

/** How a client reaches its queue. */
export interface Transport {
  call<K extends keyof QueueApi>(method: K, args: Parameters<QueueApi[K]>): Promise<Awaited<ReturnType<QueueApi[K]>>>
  readonly events: Subscribable<QueueEvent>
  /** The host's online state, as events and state messages told it (see `OnlineView`). */
  readonly online: boolean
  close(): Promise<void>
}

/**
 * Refuses, before anything is posted, the payloads every store refuses (a function, a symbol,
 * a cycle), with the `SerializationError` a local queue gives.
 */
function checkPayloads(method: keyof QueueApi, args: readonly unknown[]): void {
  const check = (o: SpecOptions | undefined, of: string): void => {
    if (o) checkStorable(o.payload, 'payload', `${of} (${o.type})`)
  }
  const group = (p: ChainPlan | BatchPlan, kind: string): void => {
    p.specs.forEach((o, i) => check(o, `job ${i + 1} of the ${kind}`))
    for (const name of ['onSuccess', 'onError', 'onSettled', 'onProgress'] as const) check((p as BatchPlan)[name], `the ${name} callback of the ${kind}`)
  }
  if (method === 'dispatchMany') (args[0] as SpecOptions[]).forEach((o, i) => check(o, `job ${i + 1} of the dispatch`))
  else if (method === 'chain') group(args[0] as ChainPlan, 'chain')
  else if (method === 'batch') group(args[0] as BatchPlan, 'batch')
  else if (method === 'schedule') check(args[2] as SpecOptions, `the job of schedule ${String(args[0])}`)
}

const CALLBACKS = ['onSuccess', 'onError', 'onSettled', 'onProgress'] as const

/** The specs a call carries: they cross to the worker, so payloads made at dispatch are made first. */
function specsOf(method: keyof QueueApi, args: readonly unknown[]): (SpecOptions | undefined)[] {
  if (method === 'dispatchMany') return args[0] as SpecOptions[]
  if (method === 'schedule') return [args[2] as SpecOptions]
  if (method === 'chain' || method === 'batch') {
    const p = args[0] as BatchPlan
    return [...p.specs, ...CALLBACKS.map((k) => p[k])]
  }
  return []
}

/** The call's arguments with every payload made at dispatch made. */
async function prepared<K extends keyof QueueApi>(method: K, args: Parameters<QueueApi[K]>): Promise<Parameters<QueueApi[K]>> {
  if (method === 'dispatchMany') return [await Promise.all((args[0] as SpecOptions[]).map(made)), ...args.slice(1)] as unknown as Parameters<QueueApi[K]>
  if (method === 'schedule') return [args[0], args[1], await made(args[2] as SpecOptions), args[3]] as unknown as Parameters<QueueApi[K]>
  const p = { ...(args[0] as BatchPlan) }
  p.specs = await Promise.all(p.specs.map(made))
  for (const k of CALLBACKS) {
    const cb = p[k]
    if (cb !== undefined) p[k] = await made(cb)
  }
  return [p, ...args.slice(1)] as Parameters<QueueApi[K]>
}

/**
 * A value that cannot be cloned and that no check above knows of (a DOM node, say) makes
 * `postMessage` throw a `DataCloneError` before anything is sent: the caller gets a
 * `SerializationError` for it too. The name is checked, not the class: a host tab's failed
 * post reaches the caller as a plain error of that name.
 */
function asQueueError(err: unknown): never {
  if (err instanceof Error && err.name === 'DataCloneError') {
    throw new SerializationError(`the payload cannot be sent to the queue: ${err.message}`, { cause: err })
  }
  throw err
}

/** What a client of a queue that runs elsewhere may be given. */
export interface ClientOptions {
  /**
   * Observers of dispatches, such as `tracing()` of `ferry/otel`, the first outermost. Their
   * `aroundDispatch` and `onDispatch` run here, in the calling code's context (ids are drawn
   * here for them), and what `onDispatch` returns travels with each job's metadata; the host
   * does not run its own instrumentation again for these dispatches. Its faults are told as
   * `queue:error` on this client's `events`.
   */
  instrumentation?: Instrumentation[]
}

/**
 * A client over a transport. With `ids`, every job, chain and batch gets its id here, so the
 * transport may send a call again (to a new host) without doubling anything.
 */
export function clientOver<J extends JobMap>(t: Transport, o: { ids?: boolean } & ClientOptions = {}): QueueClient<J> {
  const instrumentation = checkInstrumentation(o.instrumentation)
  // Faults of the instrumentation, told here: they happen on this side.
  const local = new Emitter<QueueEvent>()
  const report = (error: unknown): void => local.emit({ kind: 'queue:error', at: Date.now(), error: serializeError(error) })
  const events: Subscribable<QueueEvent> =
    instrumentation.length === 0
      ? t.events
      : {
          subscribe(listener) {
            const offHost = t.events.subscribe(listener)
            const offLocal = local.subscribe(listener)
            return () => {
              offHost()
              offLocal()
            }
          },
        }
  let closed = false
  const call = <K extends keyof QueueApi>(method: K, ...args: Parameters<QueueApi[K]>): Promise<Awaited<ReturnType<QueueApi[K]>>> => {
    if (closed) return Promise.reject(new QueueClosedError('the queue client is closed'))
    if (specsOf(method, args).some((o) => o?.prepare !== undefined)) {
      return prepared(method, args).then((made) => call(method, ...made))
    }
    try {
      checkPayloads(method, args)
    } catch (err) {
      return Promise.reject(err)
    }
    return t.call(method, args).catch(asQueueError)
  }
  const opts = (spec: unknown): SpecOptions => {
    const so = { ...specOptions(spec) }
    return o.ids && so.id === undefined ? { ...so, id: nanoid() } : so
  }
  const groupId = <P extends { id?: string }>(p: P): P => (o.ids && p.id === undefined ? { ...p, id: nanoid() } : p)
  /**
   * Runs the instrumentation of a dispatch here, synchronously up to each `onDispatch`, and
   * sends the specs with their ids drawn and their metadata settled; without instrumentation,
   * sends them as they are.
   */
  const dispatching = <T>(call: Omit<DispatchCall, 'count' | 'queues'>, queue: string | undefined, specs: SpecOptions[], send: (specs: SpecOptions[], instrumented: boolean) => Promise<T>): Promise<T> => {
    if (instrumentation.length === 0) return send(specs, false)
    const drawn = specs.map((s) => (s.id === undefined ? { ...s, id: nanoid() } : s))
    const jobs = drawn.map((s): DispatchedJob => ({ id: s.id as string, type: s.type, queue: s.queue ?? queue ?? 'default', ...(s.meta ? { meta: s.meta } : {}) }))
    const made = (meta: Array<JobMeta | undefined>): SpecOptions[] => drawn.map((s, i) => withMeta(s, meta[i]))
    return instrumented(instrumentation, { ...call, count: jobs.length, queues: queuesOf(jobs) }, jobs, report, (meta) => send(made(meta), true))
  }
  const group = <P extends ChainPlan | BatchPlan>(kind: 'chain' | 'batch', plan: P): Promise<string> => {
    let p = groupId(plan)
    if (instrumentation.length > 0 && p.id === undefined) p = { ...p, id: nanoid() }
    return dispatching({ kind, ...(p.id === undefined ? {} : { id: p.id }) }, p.queue, p.specs, (specs, instrumented) =>
      call(kind, { ...p, specs, ...(instrumented ? { instrumented } : {}) }),
    )
  }

  const chain = (plan: ChainPlan): ClientChainBuilder => ({
    onQueue: (queue) => chain({ ...plan, queue }),
    withId: (id) => chain({ ...plan, id }),
    onSuccess: (s) => chain({ ...plan, onSuccess: opts(s) }),
    onError: (s) => chain({ ...plan, onError: opts(s) }),
    onSettled: (s) => chain({ ...plan, onSettled: opts(s) }),
    dispatch: () => group('chain', plan),
  })
  const batch = (plan: BatchPlan): ClientBatchBuilder => ({
    name: (name) => batch({ ...plan, name }),
    withId: (id) => batch({ ...plan, id }),
    onQueue: (queue) => batch({ ...plan, queue }),
    allowFailures: () => batch({ ...plan, allowFailures: true }),
    onProgress: (s) => batch({ ...plan, onProgress: opts(s) }),
    onSuccess: (s) => batch({ ...plan, onSuccess: opts(s) }),
    onError: (s) => batch({ ...plan, onError: opts(s) }),
    onSettled: (s) => batch({ ...plan, onSettled: opts(s) }),
    dispatch: () => group('batch', plan),
  })

  return {
    dispatch: async (spec) => {
      const [r] = await dispatching({ kind: 'job' }, undefined, [opts(spec)], (specs, instrumented) =>
        call('dispatchMany', specs, ...(instrumented ? [{ instrumented }] : [])),
      )
      return r as DispatchResult
    },
    dispatchMany: async (specs) =>
      specs.length === 0
        ? call('dispatchMany', [])
        : dispatching({ kind: 'jobs' }, undefined, specs.map(opts), (made, instrumented) => call('dispatchMany', made, ...(instrumented ? [{ instrumented }] : []))),
    chain: (...specs) => chain({ specs: specs.map(opts) }),
    batch: (...specs) => batch({ specs: specs.map(opts) }),
    schedule: (name, when, spec, so) => call('schedule', name, when, opts(spec), so),
    unschedule: (name) => call('unschedule', name),
    listSchedules: () => call('listSchedules'),
    getJob: (id) => call('getJob', id),
    listJobs: (filter) => call('listJobs', filter),
    counts: () => call('counts'),
    cancel: (id) => call('cancel', id),
    replay: (id) => call('replay', id),
    replayChain: (id) => call('replayChain', id),
    replayBatch: (id) => call('replayBatch', id),
    findBatch: (id) => call('findBatch', id),
    findChain: (id) => call('findChain', id),
    cancelBatch: (id) => call('cancelBatch', id),
    prune: (olderThan) => {
      const ms = olderThan instanceof Date ? olderThan.getTime() : olderThan
      if (!Number.isFinite(ms)) return Promise.reject(new InvalidArgumentError('prune needs a date or a time in ms'))
      return call('prune', ms)
    },
    pause: (name) => call('pause', name),
    resume: (name) => call('resume', name),
    pausedQueues: () => call('pausedQueues'),
    drain: (opts) => call('drain', opts),
    get online() {
      return t.online
    },
    events,
    async close() {
      if (closed) return
      closed = true
      await t.close()
    },
  }
}

/** A spec's options with the metadata a dispatch settled for it. */
function withMeta(s: SpecOptions, meta: JobMeta | undefined): SpecOptions {
  const { meta: _, ...rest } = s
  return meta === undefined ? rest : { ...rest, meta }
}
