/**
 * One attempt of a job on an engine: the context its handler gets, the handler run through the
 * middleware, and the outcome a thrown value means.
 *
 * @module
 */
import { compose } from './middleware.js'
import { JobDeferredError, JobSkippedError, LeaseLostError, UnrecoverableError, serializeError } from './errors.js'
import type { AttemptOutcome, Store, StoredJob } from './store.js'
import type { Clock, Handler, JobContext, Middleware, QueueEvent } from './types.js'

export interface Attempt {
  job: StoredJob
  token: string
  /** Made when the handler first reads its signal: most handlers never do. */
  controller?: AbortController
  /** Why the attempt was aborted, once it was. */
  abortedWith?: Error
  /** When its handler started, on the engine's clock. */
  startedAt: number
  timer?: unknown
  /** Cancel was requested while it ran. */
  cancelled: boolean
  /** Its handler has returned or thrown. */
  returned?: boolean
  /** The engine was offline at some time while it ran. */
  sawOffline?: boolean
}

/** What an attempt needs of its engine. */
export interface AttemptHost {
  store: Store
  clock: Clock
  middleware: readonly Middleware[]
  handlers: ReadonlyMap<string, Handler<unknown>>
  /** Emits the events of a write the engine made, unless the store's watch emits them. */
  emitCommitted(events: QueueEvent[]): void
}

/** Runs the job's handler through the middleware; resolves with its result. */
export async function runHandler(h: AttemptHost, a: Attempt): Promise<unknown> {
  const { job } = a
  const handler = h.handlers.get(job.type)
  if (!handler) throw new UnrecoverableError(`no handler for job type ${job.type}`)
  const ctx: JobContext = {
    id: job.id,
    type: job.type,
    queue: job.queue,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    get signal() {
      return signalOf(a)
    },
    progress: async (value) => {
      const now = h.clock.now()
      if (!(await h.store.progress({ id: job.id, token: a.token, progress: value, now }))) {
        throw new LeaseLostError(`job ${job.id} is no longer leased to this engine`)
      }
      h.emitCommitted([{ kind: 'job:progress', at: now, jobId: job.id, progress: value }])
    },
  }
  if (job.chainId !== undefined) ctx.chainId = job.chainId
  if (job.batchId !== undefined) ctx.batchId = job.batchId
  if ('previousResult' in job) ctx.previousResult = job.previousResult
  if (job.groupError !== undefined) ctx.error = job.groupError
  const of = job.callbackOf
  if (of?.group === 'batch') {
    const b = await h.store.getBatch(of.id)
    if (b) ctx.batch = b
  } else if (of?.group === 'chain') {
    const c = await h.store.getChain(of.id)
    if (c) ctx.chain = c
  }
  return compose(h.middleware, ctx, async () => handler(job.payload, ctx), h.clock)
}

/** Aborts the attempt's signal, now or when the handler first reads it. The first reason holds. */
export function abort(a: Attempt, reason: Error): void {
  if (a.abortedWith) return
  a.abortedWith = reason
  a.controller?.abort(reason)
}

/** An AbortController costs microseconds to make: one per attempt only for handlers that look. */
function signalOf(a: Attempt): AbortSignal {
  if (!a.controller) {
    a.controller = new AbortController()
    if (a.abortedWith) a.controller.abort(a.abortedWith)
  }
  return a.controller.signal
}

/** What a value the handler threw means for the attempt. */
export function outcomeOf(a: Attempt, err: unknown, now: number): AttemptOutcome {
  if (err instanceof JobDeferredError) return { kind: 'deferred', runAt: now + err.delayMs }
  if (err instanceof JobSkippedError) return { kind: 'skipped' }
  if (a.cancelled) return { kind: 'cancelled' }
  return { kind: 'failed', error: serializeError(err), unrecoverable: err instanceof UnrecoverableError }
}
