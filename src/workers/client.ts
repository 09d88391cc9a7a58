/**
 * `connectQueue`: the page's or main thread's handle on a queue hosted in a worker. It has the
 * producer and admin API of a queue, and its `events`, so `ferry/observable` works on it.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { Emitter } from '../core/emitter.js'
import { InvalidArgumentError, QueueClosedError } from '../core/errors.js'
import { specOptions, type JobSpec, type SpecOf, type SpecOptions } from '../core/job-spec.js'
import type { ScheduleInfo, ScheduleOptions } from '../core/queue.js'
import type {
  BatchState,
  ChainState,
  Counts,
  DispatchResult,
  JobFilter,
  JobMap,
  JobRecord,
  QueueEvent,
  QueueLike,
  Subscribable,
} from '../core/types.js'
import { toEndpoint } from './endpoint.js'
import { installErrorTransfer } from './errors.js'
import type { BatchPlan, ChainPlan, HostApi } from './protocol.js'

type Callback = JobSpec<string, unknown>

export interface ClientChainBuilder {
  onQueue(name: string): ClientChainBuilder
  onSuccess(spec: Callback): ClientChainBuilder
  onError(spec: Callback): ClientChainBuilder
  onSettled(spec: Callback): ClientChainBuilder
  dispatch(): Promise<string>
}

export interface ClientBatchBuilder {
  name(name: string): ClientBatchBuilder
  onQueue(name: string): ClientBatchBuilder
  allowFailures(): ClientBatchBuilder
  onProgress(spec: Callback): ClientBatchBuilder
  onSuccess(spec: Callback): ClientBatchBuilder
  onError(spec: Callback): ClientBatchBuilder
  onSettled(spec: Callback): ClientBatchBuilder
  dispatch(): Promise<string>
}

/** A queue hosted in a worker: the API of a queue but `register`, `start` and `stop`. */
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
  findBatch(id: string): Promise<BatchState>
  findChain(id: string): Promise<ChainState>
  cancelBatch(id: string): Promise<void>
  prune(olderThan: Date | number): Promise<number>
  pause(queue?: string): Promise<void>
  resume(queue?: string): Promise<void>
  /** The hosted queue's events. The first subscriber opens the channel, the last closes it. */
  readonly events: Subscribable<QueueEvent>
  /**
   * Releases everything this client holds: the event channel and the connection. Calls after
   * it reject with `QueueClosedError`. The worker itself is the caller's to terminate.
   */
  close(): Promise<void>
}

/**
 * A client of the queue that a worker serves with `exposeQueue`.
 * @example
 * const worker = new Worker(new URL('./queue.worker.ts', import.meta.url), { type: 'module' })
 * const queue = connectQueue<Jobs>(worker)
 * await queue.dispatch(job('photo:upload', { name }))
 */
export function connectQueue<J extends JobMap = JobMap>(worker: unknown): QueueClient<J> {
  installErrorTransfer()
  const remote = Comlink.wrap<HostApi>(toEndpoint(worker))
  let closed = false
  let events: { port: MessagePort; id: Promise<number> } | undefined

  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new QueueClosedError('the queue client is closed')
    return fn()
  }
  const opts = (spec: unknown): SpecOptions => ({ ...specOptions(spec) })

  const emitter = new Emitter<QueueEvent>()
  const openEvents = (): void => {
    if (events || closed) return
    const { port1, port2 } = new MessageChannel()
    port1.onmessage = (m: MessageEvent<QueueEvent[]>) => {
      for (const e of m.data) emitter.emit(e)
    }
    events = { port: port1, id: remote.attachEvents(Comlink.transfer(port2, [port2])) }
  }
  const closeEvents = async (): Promise<void> => {
    const e = events
    if (!e) return
    events = undefined
    e.port.onmessage = null
    e.port.close()
    await remote.detachEvents(await e.id)
  }
  const eventsView: Subscribable<QueueEvent> = {
    subscribe(listener) {
      const off = emitter.subscribe(listener)
      openEvents()
      return () => {
        off()
        if (emitter.listenerCount === 0) void closeEvents().catch(() => {})
      }
    },
  }

  const chain = (plan: ChainPlan): ClientChainBuilder => ({
    onQueue: (queue) => chain({ ...plan, queue }),
    onSuccess: (s) => chain({ ...plan, onSuccess: opts(s) }),
    onError: (s) => chain({ ...plan, onError: opts(s) }),
    onSettled: (s) => chain({ ...plan, onSettled: opts(s) }),
    dispatch: () => call(() => remote.chain(plan)),
  })
  const batch = (plan: BatchPlan): ClientBatchBuilder => ({
    name: (name) => batch({ ...plan, name }),
    onQueue: (queue) => batch({ ...plan, queue }),
    allowFailures: () => batch({ ...plan, allowFailures: true }),
    onProgress: (s) => batch({ ...plan, onProgress: opts(s) }),
    onSuccess: (s) => batch({ ...plan, onSuccess: opts(s) }),
    onError: (s) => batch({ ...plan, onError: opts(s) }),
    onSettled: (s) => batch({ ...plan, onSettled: opts(s) }),
    dispatch: () => call(() => remote.batch(plan)),
  })

  return {
    dispatch: async (spec) => {
      const [r] = await call(() => remote.dispatchMany([opts(spec)]))
      return r as DispatchResult
    },
    dispatchMany: (specs) => call(() => remote.dispatchMany(specs.map(opts))),
    chain: (...specs) => chain({ specs: specs.map(opts) }),
    batch: (...specs) => batch({ specs: specs.map(opts) }),
    schedule: (name, when, spec, o) => call(() => remote.schedule(name, when, opts(spec), o)),
    unschedule: (name) => call(() => remote.unschedule(name)),
    listSchedules: () => call(() => remote.listSchedules()),
    getJob: (id) => call(() => remote.getJob(id)),
    listJobs: (filter) => call(() => remote.listJobs(filter)),
    counts: () => call(() => remote.counts()),
    cancel: (id) => call(() => remote.cancel(id)),
    replay: (id) => call(() => remote.replay(id)),
    findBatch: (id) => call(() => remote.findBatch(id)),
    findChain: (id) => call(() => remote.findChain(id)),
    cancelBatch: (id) => call(() => remote.cancelBatch(id)),
    prune: (olderThan) => {
      const t = olderThan instanceof Date ? olderThan.getTime() : olderThan
      if (!Number.isFinite(t)) return Promise.reject(new InvalidArgumentError('prune needs a date or a time in ms'))
      return call(() => remote.prune(t))
    },
    pause: (name) => call(() => remote.pause(name)),
    resume: (name) => call(() => remote.resume(name)),
    events: eventsView,
    async close() {
      if (closed) return
      try {
        await closeEvents()
      } finally {
        closed = true
        remote[Comlink.releaseProxy]()
      }
    },
  }
}
