/**
 * What crosses the boundary: plain data only. Specs travel as their options and are rebuilt
 * (and checked again) on the host side; builders travel as plans.
 *
 * @module
 */
import type { SpecOptions } from '../core/job-spec.js'
import type { ScheduleInfo, ScheduleOptions } from '../core/queue.js'
import type { BatchState, ChainState, Counts, DispatchResult, JobFilter, JobRecord } from '../core/types.js'

export interface ChainPlan {
  specs: SpecOptions[]
  id?: string
  queue?: string
  onSuccess?: SpecOptions
  onError?: SpecOptions
  onSettled?: SpecOptions
}

export interface BatchPlan {
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
  dispatchMany(specs: SpecOptions[]): Promise<DispatchResult[]>
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
  findBatch(id: string): Promise<BatchState>
  findChain(id: string): Promise<ChainState>
  cancelBatch(id: string): Promise<void>
  prune(olderThan: number): Promise<number>
  pause(queue?: string): Promise<void> | void
  resume(queue?: string): Promise<void> | void
}

/** What `exposeQueue` serves: the queue's API, and its events on a port of the caller's. */
export interface HostApi extends QueueApi {
  /** Starts sending the queue's events, in batches, on `port`. Returns the subscription's id. */
  attachEvents(port: MessagePort): number
  detachEvents(id: number): void
}
