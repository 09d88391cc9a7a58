/**
 * What an observer plugs into a queue (`createQueue({ instrumentation })`, `connectQueue(worker,
 * { instrumentation })`): tracing from `ferry/otel`, or an application's own.
 *
 * @module
 */
import { whenAttemptEnds, whenRejected } from './attempt.js'
import { InvalidArgumentError, QueueError } from './errors.js'
import { checkMeta } from './job-spec.js'
import type { AttemptEnd, JobContext, JobMeta, Middleware } from './types.js'

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

export type { AttemptEnd, AttemptEndOutcome } from './types.js'

export interface Instrumentation {
  /**
   * Wraps each attempt, outside every middleware of the queue's options. Must call `next` before
   * its first await: one that returns without having called it is reported as `queue:error` and
   * `next` is called for it at once (a later call gets that same run). The attempt's outcome is
   * always that of `next`.
   */
  middleware?: Middleware
  /**
   * Called once for each attempt whose middleware started, when the engine has decided how it
   * ended, with the `ctx` its middleware got: right after the handler returned or threw, or at
   * the moment the engine ends the attempt without it (a timeout, a lost lease, a stop past its
   * timeout), even if the handler never returns. A cancelled attempt ends when its handler
   * returns or its timeout passes. The outcome is the engine's, not what the handler threw: a
   * failure while offline put back is `deferred`; a job cancelled while it ran is `cancelled`,
   * whatever its handler then did. One limit: this hears the outcome the engine decided, before
   * the store has kept it. When the store cannot keep it, the job's fate differs from what this
   * heard: a result the store cannot store fails the job instead, and an outcome the engine
   * gives up storing (the store kept failing until a stop's timeout) leaves the job leased, so
   * it is taken for stalled and runs again, and its next attempt is heard too. Whatever it throws
   * (or a promise it returns rejects with) is reported as `queue:error`; it never changes the
   * attempt.
   */
  attemptEnded?(ctx: JobContext, end: AttemptEnd): void
  /**
   * Called once per dispatch call, in the dispatching code's context: `run` does the dispatch
   * (and calls `onDispatch` for each job, synchronously, before its first await) and resolves
   * or rejects as the call does. A tracer starts a span here and makes it active around `run`.
   * Must call `run` once, synchronously (before its first await), and return what it returns:
   * a dispatch that joins the caller's transaction (`{ tx }`) must be written before that
   * transaction commits. One that returns without having called `run` is reported as
   * `queue:error` and the write starts then; calling `run` later gets that same write. A second
   * call of `run` is reported too, and gets the same write.
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

/** The instrumentation of a queue's options, checked: an array of objects whose members are functions. */
export function checkInstrumentation(list: unknown): Instrumentation[] {
  if (list === undefined) return []
  if (!Array.isArray(list)) throw new InvalidArgumentError('instrumentation must be an array of objects')
  return list.map((i: unknown, n) => {
    if (typeof i !== 'object' || i === null) throw new InvalidArgumentError(`instrumentation[${n}] must be an object`)
    for (const k of ['middleware', 'aroundDispatch', 'onDispatch', 'attemptEnded'] as const) {
      const member = (i as Record<string, unknown>)[k]
      if (member !== undefined && typeof member !== 'function') throw new InvalidArgumentError(`instrumentation[${n}].${k} must be a function`)
    }
    return observed(i)
  })
}

/**
 * The instrumentation with its `attemptEnded` heard: its middleware (one that only calls `next`
 * if it has none) asks the engine, as each attempt starts, to call it when the attempt ends, or
 * at once when the attempt has ended already (a middleware outside it called `next` late).
 */
function observed(i: Instrumentation): Instrumentation {
  if (!i.attemptEnded) return i
  const hear = i.attemptEnded.bind(i)
  const inner = i.middleware?.bind(i)
  const middleware: Middleware = (ctx, next) => {
    whenAttemptEnds(ctx, (end) => hear(ctx, end))
    return inner ? inner(ctx, next) : next()
  }
  const out: Instrumentation = { middleware, attemptEnded: hear }
  if (i.aroundDispatch) out.aroundDispatch = i.aroundDispatch.bind(i)
  if (i.onDispatch) out.onDispatch = i.onDispatch.bind(i)
  return out
}

/**
 * Runs `write` inside every `aroundDispatch` (the first outermost), after calling `onDispatch`
 * for each job, synchronously, where the innermost `run` is called: `write` gets the metadata
 * to store for each job, in order (what the instrumentation returned under the spec's own).
 *
 * An instrumentation never loses a dispatch: whatever it throws, rejects or returns amiss is
 * given to `report` (the queue's `queue:error`) and the dispatch goes on without it. An
 * `aroundDispatch` that throws before calling `run`, or returns without having called it, has
 * `run` called for it at once, in the caller's turn; one that fails after `run` gets the caller
 * the dispatch's own outcome. The caller always gets what the write resolved or rejected with.
 */
export function instrumented<T>(
  list: readonly Instrumentation[],
  call: DispatchCall,
  jobs: readonly DispatchedJob[],
  report: (error: unknown) => void,
  write: (meta: Array<JobMeta | undefined>) => Promise<T>,
): Promise<T> {
  if (list.length === 0) return write(jobs.map((j) => j.meta))
  let run = (): Promise<T> => write(jobs.map((j) => metaOf(list, j, report)))
  for (let n = list.length - 1; n >= 0; n--) {
    const i = list[n] as Instrumentation
    if (i.aroundDispatch) run = around(i, call, run, report)
  }
  return run()
}

function around<T>(i: Instrumentation, call: DispatchCall, inner: () => Promise<T>, report: (error: unknown) => void): () => Promise<T> {
  return () => {
    let ran: Promise<T> | undefined
    // Once the write settled, the caller gets its outcome, whether or not the aroundDispatch
    // that ran it ever settles.
    let settle: ((p: Promise<T>) => void) | undefined
    const once = (): Promise<T> => {
      if (ran) return ran
      ran = inner()
      settle?.(ran)
      return ran
    }
    // What the aroundDispatch is given: a second call is reported and gets the same write.
    let calls = 0
    const run = (): Promise<T> => {
      if (++calls > 1) report(new QueueError('run() called more than once in an aroundDispatch of the instrumentation', { code: 'INSTRUMENTATION' }))
      return once()
    }
    let out: Promise<unknown>
    try {
      out = Promise.resolve((i.aroundDispatch as NonNullable<Instrumentation['aroundDispatch']>)({ ...call, queues: [...call.queues] }, run))
    } catch (err) {
      report(err)
      return once()
    }
    if (!ran) {
      // The write starts now, in the caller's turn: a write that joins the caller's IndexedDB
      // transaction must be made before that transaction commits, which it does at the first
      // turn with no request pending. A later call of `run` gets this same write.
      report(new QueueError('an aroundDispatch of the instrumentation returned without calling run: it must call run before its first await', { code: 'INSTRUMENTATION' }))
      void once()
    }
    const byWrite = new Promise<T>((resolve, reject) => {
      settle = (p) => void p.then(resolve, reject)
      if (ran) settle(ran)
    })
    const byAround = out.then(
      () => {
        if (!ran) report(new QueueError('an aroundDispatch of the instrumentation resolved without calling run', { code: 'INSTRUMENTATION' }))
        return once()
      },
      (err: unknown) => {
        if (!ran) {
          report(err)
          return once()
        }
        // The dispatch's own rejection, passed on, is the caller's; anything else is reported.
        return ran.then((v) => {
          report(err)
          return v
        })
      },
    )
    return Promise.race([byWrite, byAround])
  }
}

/** The job's metadata with what each `onDispatch` returned under it: the spec's keys win, then the first instrumentation's. */
function metaOf(list: readonly Instrumentation[], job: DispatchedJob, report: (error: unknown) => void): JobMeta | undefined {
  let added: Record<string, string> = {}
  for (const i of list) {
    if (!i.onDispatch) continue
    try {
      const out: unknown = i.onDispatch({ ...job, ...(job.meta ? { meta: { ...job.meta } } : {}) })
      if (out === undefined) continue
      // A promise is no metadata: reported below, once; what it rejects with is heard by no one.
      whenRejected(out, () => {})
      if (!isStringRecord(out)) throw new InvalidArgumentError('onDispatch must return a plain object of strings, or nothing')
      const next = { ...out, ...added }
      checkMeta({ ...next, ...job.meta })
      added = next
    } catch (err) {
      report(err)
    }
  }
  return Object.keys(added).length === 0 ? job.meta : { ...added, ...job.meta }
}

function isStringRecord(v: unknown): v is Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto: unknown = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) return false
  return Object.values(v).every((x) => typeof x === 'string')
}

/** The queues of a dispatch's jobs, sorted, each once (`DispatchCall.queues`). */
export function queuesOf(jobs: readonly DispatchedJob[]): string[] {
  return [...new Set(jobs.map((j) => j.queue))].sort()
}
