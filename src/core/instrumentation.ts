/**
 * What an observer plugs into a queue (`createQueue({ instrumentation })`, `connectQueue(worker,
 * { instrumentation })`): tracing from `ferry/otel`, or an application's own.
 *
 * @module
 */
import type { JobMeta, Middleware } from './types.js'

/** One job of a dispatch, as `Instrumentation.onDispatch` sees it. */
export interface DispatchedJob {
  id: string
  type: string
  queue: string
  /** The metadata the job's spec set (`job(...).meta()`), before instrumentation adds to it. */
  meta?: JobMeta
}

/** One call that dispatches: `dispatch`, `dispatchMany`, a chain's or a batch's `dispatch`. */
export interface DispatchCall {
  kind: 'job' | 'jobs' | 'chain' | 'batch'
  /** The chain's or batch's id. */
  id?: string
  /** The jobs it writes (steps, or members), callbacks not counted. */
  count: number
  /** The queues its jobs go to, sorted, each once. */
  queues: string[]
}

export interface Instrumentation {
  /** Wraps each attempt, outside every middleware of the queue's options. */
  middleware?: Middleware
  /**
   * Called once per dispatch call, in the dispatching code's context: `run` does the dispatch
   * (and calls `onDispatch` for each job, synchronously, before its first await) and resolves
   * or rejects as the call does. A tracer starts a span here and makes it active around `run`.
   * Must call `run` once and return what it returns.
   */
  aroundDispatch?<T>(call: DispatchCall, run: () => Promise<T>): Promise<T>
  /**
   * Called for each job of a dispatch (a chain's steps, a batch's members), in the dispatching
   * code's context. What it returns is stored in the job's metadata and given back in
   * `ctx.meta`; keys the spec's own `meta` sets win. A callback job of a chain or batch is not
   * dispatched by the caller: it inherits the metadata its group's jobs share.
   */
  onDispatch?(job: DispatchedJob): Record<string, string> | void
}
