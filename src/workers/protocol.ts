/**
 * What crosses the boundary: plain data only. Specs travel as their options and are rebuilt
 * (and checked again) on the host side; builders travel as plans.
 *
 * @module
 */
import type { SpecOptions } from '../core/job-spec.js'
import type { ScheduleInfo, ScheduleOptions } from '../core/queue.js'
import type { BatchState, ChainState, Counts, DispatchResult, JobFilter, JobRecord } from '../core/types.js'

/**
 * What a client says of a dispatch it sends: `instrumented`, it ran the instrumentation of the
 * dispatch itself (in its caller's context; the specs carry the metadata that gave), so the
 * host does not run its own. A dispatch that says nothing is instrumented by the host.
 */
export interface Relay {
  instrumented?: boolean
}

export interface ChainPlan extends Relay {
  specs: SpecOptions[]
  id?: string
  queue?: string
  onSuccess?: SpecOptions
  onError?: SpecOptions
  onSettled?: SpecOptions
}

export interface BatchPlan extends Relay {
  specs: SpecOptions[]
  id?: string
  name?: string
  queue?: string
  allowFailures?: boolean
  onProgress?: SpecOptions
  onSuccess?: SpecOptions
  onError?: SpecOptions
  onSettled?: SpecOptions
}

/** The producer and admin API of a hosted queue, in plain data. */
export interface QueueApi {
  dispatchMany(specs: SpecOptions[], relay?: Relay): Promise<DispatchResult[]>
  chain(plan: ChainPlan): Promise<string>
  batch(plan: BatchPlan): Promise<string>
  schedule(name: string, when: string | { every: number }, spec: SpecOptions, opts?: ScheduleOptions): Promise<void>
  unschedule(name: string): Promise<void>
  listSchedules(): Promise<ScheduleInfo[]>
  getJob(id: string): Promise<JobRecord | undefined>
  listJobs(filter?: JobFilter): Promise<JobRecord[]>
  counts(): Promise<Counts>
  cancel(id: string): Promise<boolean>
  replay(id: string): Promise<boolean>
  replayChain(id: string): Promise<void>
  replayBatch(id: string): Promise<void>
  findBatch(id: string): Promise<BatchState>
  findChain(id: string): Promise<ChainState>
  cancelBatch(id: string): Promise<void>
  prune(olderThan: number): Promise<number>
  pause(queue?: string): Promise<void> | void
  resume(queue?: string): Promise<void> | void
  /** The host engine's `pausedQueues()`. */
  pausedQueues(): Promise<string[]> | string[]
  /** Runs the host's engine until nothing is ready now (see `Queue.drain`). */
  drain(opts?: { timeoutMs?: number }): Promise<void>
  /** The host engine's `online` now. */
  isOnline(): Promise<boolean> | boolean
}

/**
 * The methods of `QueueApi`: the only ones a hosted queue runs for a caller it cannot vouch
 * for (another tab, a message on a shared channel). Typed as a record over the interface, so a
 * method added to it and not here, or named here and not there, fails the build.
 */
const methods: { readonly [K in keyof QueueApi]: true } = {
  dispatchMany: true,
  chain: true,
  batch: true,
  schedule: true,
  unschedule: true,
  listSchedules: true,
  getJob: true,
  listJobs: true,
  counts: true,
  cancel: true,
  replay: true,
  replayChain: true,
  replayBatch: true,
  findBatch: true,
  findChain: true,
  cancelBatch: true,
  prune: true,
  pause: true,
  resume: true,
  pausedQueues: true,
  drain: true,
  isOnline: true,
}

/** Whether `name` names a method of `QueueApi` (and nothing else an object has, such as `constructor`). */
export function isQueueMethod(name: unknown): name is keyof QueueApi {
  return typeof name === 'string' && Object.hasOwn(methods, name)
}

/** What `exposeQueue` serves: the queue's API, and its events on a port of the caller's. */
export interface HostApi extends QueueApi {
  /**
   * Starts sending the queue's events on `port`: first the queue's state (a `StateMessage`),
   * then its events, in batches, in order. Returns the subscription's id.
   */
  attachEvents(port: MessagePort): number
  detachEvents(id: number): void
  /** Answers at once: the worker is alive and serves. */
  ping(): true
  /**
   * The name of a Web Lock the worker holds for as long as it lives, or undefined where there
   * are no Web Locks. A browser says nothing when a worker is terminated or killed (out of
   * memory); the lock's release does, and a busy worker keeps it however long it is busy.
   */
  lifeLock(): Promise<string | undefined>
}
